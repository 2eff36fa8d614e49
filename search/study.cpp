#include "search/study.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "search/fork_pool.h"
#include "sim/core/diagnostics.h"

namespace codesim::search {

using nlohmann::json;

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string clock_text(double s) {
  if (!std::isfinite(s) || s < 0) return "--:--";
  const long t = std::lround(s);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

json record_json(const Space& s, const Record& r) {
  return json{{"key", r.key},
              {"params", point_params(s, r.point)},
              {"status", r.ok ? "ok" : "failed"},
              {"error", r.error},
              {"metrics", r.metrics},
              {"seconds", r.seconds},
              {"batch", r.batch},
              {"rank", r.rank},
              {"feasible", r.feasible}};
}

Record record_from_json(const json& j) {
  Record r;
  r.key = j["key"].get<std::string>();
  r.point = point_from_key(r.key);
  r.ok = j["status"] == "ok";
  r.error = j["error"].get<std::string>();
  r.metrics = j["metrics"];
  r.seconds = j["seconds"].get<double>();
  r.batch = j["batch"].get<int>();
  r.rank = j["rank"].get<int>();
  return r;
}

}  // namespace

// ---- registry ----

uint64_t SearchAlgorithm::default_budget(const Space& s) const {
  return static_cast<uint64_t>(std::min(s.grid_size(), 100.0));
}

SearchRegistry& SearchRegistry::instance() {
  static SearchRegistry r;
  return r;
}

bool SearchRegistry::add(SearchEntry e) {
  entries_[e.name] = std::move(e);
  return true;
}

const SearchEntry* SearchRegistry::find(const std::string& name) const {
  const auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> SearchRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

// ---- study ----

Study::Study(const Space& space, Evaluator& evaluator, const StudyOptions& options,
             const Comm& comm, Store* store, const std::vector<StoredPoint>& previous)
    : space_(space), evaluator_(evaluator), options_(options), comm_(comm), store_(store) {
  budget_ = options.budget;
  for (const auto& p : previous) {
    Record r;
    r.key = p.key;
    r.point = point_from_key(p.key);
    r.ok = p.status == "ok";
    r.error = p.error;
    r.metrics = json::parse(p.metrics);
    r.seconds = p.seconds;
    r.batch = p.batch;
    r.rank = p.rank;
    if (r.point.size() == space.dims.size()) previous_[r.key] = std::move(r);
  }
  started_ = now_seconds();
}

void Study::check_feasible(Record& r) const {
  r.feasible = r.ok;
  if (!r.ok) return;
  for (const auto& o : space_.objectives)
    if (!r.metrics.contains(o.metric) || !r.metrics[o.metric].is_number()) r.feasible = false;
  for (const auto& c : space_.constraints) {
    if (!r.metrics.contains(c.metric) || !r.metrics[c.metric].is_number()) {
      r.feasible = false;
      continue;
    }
    const double v = r.metrics[c.metric].get<double>();
    if ((c.min && v < *c.min) || (c.max && v > *c.max)) r.feasible = false;
  }
}

Objectives Study::objectives_of(const Record& r) const {
  Objectives o;
  for (const auto& obj : space_.objectives) {
    const double v = r.metrics[obj.metric].get<double>();
    o.push_back(obj.maximize ? -v : v);
  }
  return o;
}

Objectives Study::fitness_of(const Record* r) const {
  if (r && r->feasible) return objectives_of(*r);
  double penalty = 1e13;
  if (r && r->ok) {
    double violation = 0;
    for (const auto& c : space_.constraints) {
      if (!r->metrics.contains(c.metric) || !r->metrics[c.metric].is_number()) {
        violation += 1;
        continue;
      }
      const double v = r->metrics[c.metric].get<double>();
      if (c.max && v > *c.max) violation += (v - *c.max) / std::max(std::fabs(*c.max), 1e-9);
      if (c.min && v < *c.min) violation += (*c.min - v) / std::max(std::fabs(*c.min), 1e-9);
    }
    penalty = 1e12 * (1 + violation);
  }
  return Objectives(space_.objectives.size(), penalty);
}

void Study::store_record(const Record& r, const std::map<std::string, std::string>& cache) {
  if (!store_) return;
  StoredPoint p;
  p.key = r.key;
  p.status = r.ok ? "ok" : "failed";
  p.error = r.error;
  p.params = point_params(space_, r.point).dump();
  p.metrics = r.metrics.dump();
  p.seconds = r.seconds;
  p.batch = r.batch;
  p.rank = r.rank;
  store_->add(p, cache);
}

void Study::finish(const Record& r, uint64_t finished_points) {
  if (!r.ok) ++failed_;
  if (!options_.progress) return;
  const double elapsed = now_seconds() - started_;
  const double finished = static_cast<double>(finished_points);
  const double rate = static_cast<double>(evaluated_ + cached_) / std::max(elapsed, 1e-9);
  const double left = static_cast<double>(budget_) - finished;
  const int width = 24;
  const int filled =
      static_cast<int>(width * std::min(1.0, finished / std::max<double>(budget_, 1)));
  std::ostringstream os;
  os << "\r[" << std::string(static_cast<size_t>(filled), '#')
     << std::string(static_cast<size_t>(width - filled), '.') << "] " << finished << "/" << budget_
     << " points  " << std::fixed;
  os.precision(1);
  os << rate << "/s  ETA " << clock_text(rate > 0 ? left / rate : NAN) << "  batch " << batch_;
  if (failed_) os << "  failed " << failed_;
  os << "\033[K";
  std::cerr << os.str() << std::flush;
}

std::vector<const Record*> Study::evaluate(const std::vector<Point>& points) {
  std::vector<const Record*> out(points.size(), nullptr);
  std::vector<Record> fresh;  // new to the study, in order of first request
  std::map<std::string, size_t> fresh_index;
  std::vector<std::pair<size_t, size_t>> refer;  // (position in points, index in fresh)
  uint64_t room = remaining();
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string key = point_key(points[i]);
    if (const auto it = index_.find(key); it != index_.end()) {
      out[i] = it->second;
      continue;
    }
    if (const auto it = fresh_index.find(key); it != fresh_index.end()) {
      refer.emplace_back(i, it->second);
      continue;
    }
    if (room == 0) continue;
    --room;
    Record r;
    r.point = points[i];
    r.key = key;
    fresh_index[key] = fresh.size();
    refer.emplace_back(i, fresh.size());
    fresh.push_back(std::move(r));
  }
  if (fresh.empty()) return out;
  ++batch_;

  // Resumed points, then points the caches answer, then the rest in workers.
  std::vector<size_t> work;
  for (size_t f = 0; f < fresh.size(); ++f) {
    Record& r = fresh[f];
    if (const auto it = previous_.find(r.key); it != previous_.end()) {
      r = it->second;
      ++resumed_;
      continue;
    }
    r.batch = batch_;
    if (auto m = evaluator_.from_cache(r.point)) {
      r.ok = true;
      r.metrics = std::move(*m);
      ++cached_;
      store_record(r, {});
      continue;
    }
    work.push_back(f);
  }

  // Every rank evaluates every size-th point of the work; all ranks then hold all results.
  std::vector<size_t> mine;
  for (size_t k = 0; k < work.size(); ++k)
    if (static_cast<int>(k % static_cast<size_t>(comm_.size())) == comm_.rank())
      mine.push_back(work[k]);
  json gathered = json::array();
  int done = 0;
  PoolOptions pool;
  pool.workers = options_.workers;
  pool.timeout_seconds = options_.timeout_seconds;
  run_forked(
      mine.size(), [&](size_t i) { return evaluator_.evaluate(fresh[mine[i]].point).dump(); }, pool,
      [&](size_t i, const TaskOutcome& o) {
        Record& r = fresh[mine[i]];
        r.seconds = o.seconds;
        r.rank = comm_.rank();
        std::map<std::string, std::string> cache;
        if (o.ok) {
          try {
            json payload = json::parse(o.payload);
            r.ok = true;
            r.metrics = payload["metrics"];
            for (auto& [k, v] : payload["cache"].items()) cache[k] = v.get<std::string>();
          } catch (const json::exception& e) {
            r.ok = false;
            r.error = std::string("unreadable worker result: ") + e.what();
          }
        } else {
          r.error = o.error;
        }
        evaluator_.absorb_cache(cache);
        if (comm_.rank() == 0) store_record(r, cache);
        ++evaluated_;
        ++done;
        check_feasible(r);
        finish(r, records_.size() + fresh.size() - work.size() + static_cast<uint64_t>(done));
        if (comm_.active())
          gathered.push_back(
              json{{"index", mine[i]}, {"record", record_json(space_, r)}, {"cache", cache}});
      });
  if (comm_.active()) {
    for (const auto& text : comm_.allgather(gathered.dump())) {
      for (const auto& item : json::parse(text)) {
        const size_t f = item["index"].get<size_t>();
        const Record r = record_from_json(item["record"]);
        const std::map<std::string, std::string> cache =
            item["cache"].get<std::map<std::string, std::string>>();
        if (r.rank == comm_.rank()) continue;
        ++evaluated_;
        if (!r.ok) ++failed_;
        evaluator_.absorb_cache(cache);
        fresh[f] = r;
        fresh[f].point = fresh[f].point.empty() ? point_from_key(r.key) : fresh[f].point;
        if (comm_.rank() == 0) store_record(fresh[f], cache);
      }
    }
  }
  for (auto& r : fresh) {
    check_feasible(r);
    records_.push_back(std::move(r));
    index_[records_.back().key] = &records_.back();
  }
  for (const auto& [i, f] : refer) out[i] = &records_[records_.size() - fresh.size() + f];
  return out;
}

void evaluate_in_batches(Study& study, const std::vector<Point>& points) {
  const auto& o = study.options();
  const size_t batch = static_cast<size_t>(o.batch > 0 ? o.batch : std::max(8, 4 * o.workers));
  for (size_t i = 0; i < points.size() && study.remaining() > 0; i += batch)
    study.evaluate(
        std::vector<Point>(points.begin() + static_cast<long>(i),
                           points.begin() + static_cast<long>(std::min(points.size(), i + batch))));
}

Objectives reference_point(const Study& study) {
  const auto& objs = study.space().objectives;
  const auto& given = study.options().reference;
  Objectives lo(objs.size(), INFINITY), hi(objs.size(), -INFINITY), ref(objs.size());
  for (const auto& r : study.records()) {
    if (!r.feasible) continue;
    const Objectives o = study.objectives_of(r);
    for (size_t i = 0; i < o.size(); ++i) {
      lo[i] = std::min(lo[i], o[i]);
      hi[i] = std::max(hi[i], o[i]);
    }
  }
  for (size_t i = 0; i < objs.size(); ++i) {
    const double sign = objs[i].maximize ? -1 : 1;
    if (i < given.size())
      ref[i] = sign * given[i];
    else if (objs[i].reference)
      ref[i] = sign * *objs[i].reference;
    else if (!std::isfinite(hi[i]))
      ref[i] = 0;
    else
      ref[i] = hi[i] + std::max(0.1 * (hi[i] - lo[i]), 1e-9 * std::max(1.0, std::fabs(hi[i])));
  }
  return ref;
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string number_text(const json& v) {
  if (!v.is_number()) return "";
  std::ostringstream os;
  os.precision(10);
  os << v.get<double>();
  return os.str();
}

std::string points_csv(const Study& study, const std::vector<const Record*>& rows) {
  const Space& s = study.space();
  std::ostringstream os;
  os << "key,status,feasible,batch,seconds";
  for (const auto& d : s.dims) os << "," << csv_field(d.name);
  for (const auto& m : metric_infos()) os << "," << m.name;
  os << ",ops_simulated,ops_cached,error\n";
  for (const Record* r : rows) {
    os << r->key << "," << (r->ok ? "ok" : "failed") << "," << (r->feasible ? 1 : 0) << ","
       << r->batch << "," << r->seconds;
    for (size_t i = 0; i < s.dims.size(); ++i)
      os << "," << csv_field(s.dims[i].labels[r->point[i]]);
    for (const auto& m : metric_infos())
      os << "," << (r->metrics.contains(m.name) ? number_text(r->metrics[m.name]) : "");
    for (const char* k : {"ops_simulated", "ops_cached"})
      os << "," << (r->metrics.contains(k) ? number_text(r->metrics[k]) : "");
    os << "," << csv_field(r->error) << "\n";
  }
  return os.str();
}

}  // namespace

StudyResult run_study(const Space& space, Evaluator& evaluator, const StudyOptions& options,
                      const Comm& comm) {
  const SearchEntry* entry = SearchRegistry::instance().find(options.algorithm);
  if (!entry)
    throw sim::ConfigError(
        "unknown algorithm '" + options.algorithm + "' (" +
        sim::did_you_mean(options.algorithm, SearchRegistry::instance().names()) + ")");
  std::unique_ptr<SearchAlgorithm> algorithm = entry->create();
  StudyOptions opt = options;
  if (opt.budget == 0) opt.budget = algorithm->default_budget(space);
  if (opt.reference.size() > space.objectives.size())
    throw sim::ConfigError("--reference has more values than the space has objectives");

  const std::filesystem::path out(opt.out);
  const std::string store_path = (out / "study.sqlite").string();
  std::unique_ptr<Store> store;
  std::vector<StoredPoint> previous;
  // Rank 0 owns the store; the others receive its previous points.
  std::string error;
  if (comm.rank() == 0) {
    std::filesystem::create_directories(out);
    const bool existed = std::filesystem::exists(store_path);
    store = std::make_unique<Store>(store_path);
    const json settings = {
        {"space", space.fingerprint}, {"algorithm", opt.algorithm},
        {"seed", opt.seed},           {"population", opt.population},
        {"dp_cost", opt.dp_cost},     {"dp_points", opt.dp_points},
        {"dp_outer", opt.dp_outer},   {"dp_budget", opt.dp_budget ? json(*opt.dp_budget) : json()}};
    const auto stored = store->meta("settings");
    if (existed && stored && !opt.resume) {
      error = store_path +
              " holds a study already: pass --resume to continue it, or choose "
              "another --out";
    } else if (stored && json::parse(*stored) != settings) {
      error = store_path + " holds a study with other settings (" + *stored + "), not " +
              settings.dump() + "; --resume continues only the same study";
    } else {
      store->set_meta("settings", settings.dump());
      previous = store->points();
      evaluator.absorb_cache(store->cache());
    }
  }
  error = comm.broadcast(error);
  if (!error.empty()) throw sim::ConfigError(error);
  if (comm.active() && comm.size() > 1) {
    json prev = json::array();
    for (const auto& p : previous)
      prev.push_back({p.key, p.status, p.error, p.metrics, p.seconds, p.batch, p.rank});
    json all = json::parse(comm.broadcast(prev.dump()));
    if (comm.rank() != 0) {
      for (const auto& p : all) {
        StoredPoint s;
        s.key = p[0];
        s.status = p[1];
        s.error = p[2];
        s.metrics = p[3];
        s.seconds = p[4];
        s.batch = p[5];
        s.rank = p[6];
        previous.push_back(s);
      }
    }
    json cache = comm.rank() == 0 && store ? json(store->cache()) : json::object();
    const json c = json::parse(comm.broadcast(cache.dump()));
    if (comm.rank() != 0) evaluator.absorb_cache(c.get<std::map<std::string, std::string>>());
  }

  Study study(space, evaluator, opt, comm, store.get(), previous);
  const double t0 =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  algorithm->run(study);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count() -
      t0;
  if (opt.progress) std::cerr << "\r\033[K" << std::flush;

  StudyResult result;
  const Objectives ref = reference_point(study);
  std::vector<const Record*> all, feasible;
  for (const auto& r : study.records()) {
    all.push_back(&r);
    if (r.feasible) feasible.push_back(&r);
  }
  std::vector<Objectives> objs;
  for (const Record* r : feasible) objs.push_back(study.objectives_of(*r));
  std::vector<const Record*> front;
  for (size_t i : pareto_front(objs)) front.push_back(feasible[i]);

  // Hypervolume after every batch, with the final reference point.
  json hv = json::array();
  {
    std::vector<Objectives> running;
    size_t evaluations = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      const Record& r = *all[i];
      ++evaluations;
      if (r.feasible) {
        const Objectives o = study.objectives_of(r);
        bool dominated = false;
        for (const auto& f : running)
          if (f == o || dominates(f, o)) dominated = true;
        if (!dominated) {
          running.erase(std::remove_if(running.begin(), running.end(),
                                       [&](const Objectives& f) { return dominates(o, f); }),
                        running.end());
          running.push_back(o);
        }
      }
      const bool last_of_batch = i + 1 == all.size() || all[i + 1]->batch != r.batch;
      if (last_of_batch)
        hv.push_back({{"batch", r.batch},
                      {"evaluations", evaluations},
                      {"hypervolume", hypervolume(running, ref)}});
    }
  }
  const double final_hv = hv.empty() ? 0.0 : hv.back()["hypervolume"].get<double>();

  json objectives = json::array();
  for (size_t i = 0; i < space.objectives.size(); ++i) {
    const auto& o = space.objectives[i];
    objectives.push_back({{"metric", o.metric},
                          {"unit", find_metric(o.metric)->unit},
                          {"goal", o.maximize ? "max" : "min"},
                          {"reference", (o.maximize ? -ref[i] : ref[i]) + 0.0}});  // no -0
  }
  uint64_t failed = 0;
  for (const Record* r : all) failed += r->ok ? 0 : 1;
  json& sum = result.summary;
  sum["study"] = space.name;
  sum["space"] = space.file;
  sum["algorithm"] = opt.algorithm;
  sum["seed"] = opt.seed;
  sum["budget"] = opt.budget;
  sum["grid_size"] = space.grid_size();
  sum["points"] = all.size();
  sum["feasible"] = feasible.size();
  sum["failed"] = failed;
  sum["evaluated"] = study.evaluated();
  sum["from_cache"] = study.cached();
  sum["resumed"] = study.resumed();
  sum["batches"] = study.batches();
  sum["workers"] = opt.workers;
  sum["ranks"] = comm.size();
  sum["wall_seconds"] = wall;
  sum["points_per_second"] =
      wall > 0 ? static_cast<double>(study.evaluated() + study.cached()) / wall : 0.0;
  sum["objectives"] = objectives;
  sum["pareto_size"] = front.size();
  sum["hypervolume"] = final_hv;
  if (!study.algorithm_output().empty()) sum["algorithm_output"] = study.algorithm_output();
  if (comm.rank() != 0) return result;

  auto write = [&](const std::string& name, const std::string& text) {
    const std::string path = (out / name).string();
    std::ofstream(path) << text;
    result.files.push_back(path);
  };
  json points = json::array(), pareto = json::array();
  for (const Record* r : all) points.push_back(record_json(space, *r));
  for (const Record* r : front) pareto.push_back(record_json(space, *r));
  result.front = pareto;
  write("points.csv", points_csv(study, all));
  write("points.json", points.dump(1));
  write("pareto.csv", points_csv(study, front));
  write("pareto.json", pareto.dump(1));
  std::ostringstream hv_csv;
  hv_csv << "batch,evaluations,hypervolume\n";
  for (const auto& h : hv)
    hv_csv << h["batch"] << "," << h["evaluations"] << "," << number_text(h["hypervolume"]) << "\n";
  write("hypervolume.csv", hv_csv.str());
  sum["store"] = store_path;
  sum["files"] = result.files;
  write("study.json", sum.dump(1));
  result.files.push_back(store_path);
  return result;
}

}  // namespace codesim::search
