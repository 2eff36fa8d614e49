#include "search/pareto.h"

#include <algorithm>

namespace codesim::search {

bool dominates(const Objectives& a, const Objectives& b) {
  bool better = false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

std::vector<size_t> pareto_front(const std::vector<Objectives>& points) {
  std::vector<size_t> front;
  for (size_t i = 0; i < points.size(); ++i) {
    bool keep = true;
    for (size_t j = 0; j < points.size() && keep; ++j) {
      if (j == i) continue;
      if (dominates(points[j], points[i]) || (j < i && points[j] == points[i])) keep = false;
    }
    if (keep) front.push_back(i);
  }
  return front;
}

namespace {

// Hypervolume by slicing along the last objective (HSO): sort by it and add, for each slab
// between consecutive values, the (d-1)-dimensional volume of the points below the slab.
double hso(std::vector<Objectives> pts, const Objectives& ref, size_t d) {
  if (pts.empty()) return 0;
  if (d == 1) {
    double best = ref[0];
    for (const auto& p : pts) best = std::min(best, p[0]);
    return ref[0] - best;
  }
  const size_t k = d - 1;
  std::sort(pts.begin(), pts.end(),
            [k](const Objectives& a, const Objectives& b) { return a[k] < b[k]; });
  if (d == 2) {
    double volume = 0, best_x = ref[0];
    for (size_t i = 0; i < pts.size(); ++i) {
      best_x = std::min(best_x, pts[i][0]);
      const double next = i + 1 < pts.size() ? pts[i + 1][1] : ref[1];
      volume += (ref[0] - best_x) * (next - pts[i][1]);
    }
    return volume;
  }
  // `below` holds the points at or under the current slab, projected on the first d-1
  // objectives and kept non-dominated as they arrive.
  double volume = 0;
  std::vector<Objectives> below;
  for (size_t i = 0; i < pts.size(); ++i) {
    Objectives proj(pts[i].begin(), pts[i].begin() + static_cast<long>(k));
    bool dominated = false;
    for (const auto& b : below)
      if (b == proj || dominates(b, proj)) dominated = true;
    if (!dominated) {
      below.erase(std::remove_if(below.begin(), below.end(),
                                 [&](const Objectives& b) { return dominates(proj, b); }),
                  below.end());
      below.push_back(std::move(proj));
    }
    const double next = i + 1 < pts.size() ? pts[i + 1][k] : ref[k];
    if (next > pts[i][k]) volume += hso(below, ref, k) * (next - pts[i][k]);
  }
  return volume;
}

}  // namespace

double hypervolume(const std::vector<Objectives>& points, const Objectives& reference) {
  std::vector<Objectives> inside;
  for (const auto& p : points) {
    bool ok = p.size() == reference.size();
    for (size_t i = 0; ok && i < p.size(); ++i) ok = p[i] < reference[i];
    if (ok) inside.push_back(p);
  }
  std::vector<Objectives> front;
  for (size_t i : pareto_front(inside)) front.push_back(inside[i]);
  return hso(front, reference, reference.size());
}

}  // namespace codesim::search
