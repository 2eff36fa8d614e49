// `codesim sweep` and `codesim search`: a co-design study over a design space (search/).

#include <unistd.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "search/evaluator.h"
#include "search/mpi.h"
#include "search/study.h"
#include "sim/cli/args.h"
#include "sim/cli/commands.h"

namespace codesim::cli {

namespace {

double parse_number(const Args& args, const std::string& command, const std::string& name,
                    double fallback, double min) {
  if (!args.has(name)) return fallback;
  const std::string v = args.get(name);
  try {
    size_t used = 0;
    const double x = std::stod(v, &used);
    if (used == v.size() && x >= min) return x;
  } catch (const std::exception&) {
  }
  std::ostringstream os;
  os << "codesim " << command << ": --" << name << " expects a number >= " << min << ", not '" << v
     << "'";
  throw UsageError(os.str());
}

std::vector<double> parse_list(const std::string& command, const std::string& text) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    try {
      size_t used = 0;
      out.push_back(std::stod(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw UsageError("codesim " + command +
                       ": --reference expects numbers separated by commas, "
                       "not '" +
                       text + "'");
    }
  }
  return out;
}

// The summary, then the front as a table sorted by the first objective (at most 20 rows).
void print_front(const search::Space& space, const nlohmann::json& summary,
                 const nlohmann::json& front) {
  std::cout << summary["points"] << " points (" << summary["evaluated"] << " simulated, "
            << summary["from_cache"] << " from the cache, " << summary["resumed"] << " resumed), "
            << summary["failed"] << " failed, " << summary["feasible"] << " feasible; "
            << std::fixed << std::setprecision(2) << summary["wall_seconds"].get<double>() << " s, "
            << summary["points_per_second"].get<double>() << " points/s\n";
  std::cout << "Pareto front: " << summary["pareto_size"] << " points; hypervolume "
            << std::setprecision(6) << std::defaultfloat << summary["hypervolume"].get<double>()
            << " (reference";
  for (const auto& o : summary["objectives"])
    std::cout << " " << o["metric"].get<std::string>() << "=" << o["reference"].get<double>();
  std::cout << ")\n";
  if (front.empty()) return;

  std::vector<nlohmann::json> rows(front.begin(), front.end());
  const std::string first = space.objectives[0].metric;
  const bool max_first = space.objectives[0].maximize;
  std::sort(rows.begin(), rows.end(), [&](const nlohmann::json& a, const nlohmann::json& b) {
    const double x = a["metrics"][first].get<double>(), y = b["metrics"][first].get<double>();
    return max_first ? x > y : x < y;
  });
  std::vector<std::string> header;
  for (const auto& o : space.objectives) {
    const std::string unit = search::find_metric(o.metric)->unit;
    header.push_back(o.metric + (unit.empty() ? "" : " (" + unit + ")"));
  }
  for (const auto& d : space.dims) header.push_back(d.name);
  std::vector<std::vector<std::string>> cells;
  for (size_t i = 0; i < rows.size() && i < 20; ++i) {
    std::vector<std::string> line;
    for (const auto& o : space.objectives) {
      std::ostringstream os;
      os << std::setprecision(4) << rows[i]["metrics"][o.metric].get<double>();
      line.push_back(os.str());
    }
    for (const auto& d : space.dims) line.push_back(rows[i]["params"][d.name].get<std::string>());
    cells.push_back(line);
  }
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& line : cells) width[c] = std::max(width[c], line[c].size());
  }
  auto print_line = [&](const std::vector<std::string>& line) {
    for (size_t c = 0; c < line.size(); ++c)
      std::cout << (c ? "  " : "")
                << std::setw(c + 1 < line.size() ? static_cast<int>(width[c]) : 0)
                << (c < space.objectives.size() ? std::right : std::left) << line[c];
    std::cout << "\n";
  };
  print_line(header);
  for (const auto& line : cells) print_line(line);
  if (rows.size() > cells.size())
    std::cout << "(" << rows.size() - cells.size() << " more in pareto.csv)\n";
}

}  // namespace

int cmd_study(const std::string& command, const std::vector<std::string>& argv) {
  const bool sweep = command == "sweep";
  std::vector<OptionSpec> options = {
      {"out", "o", "DIR", std::string("output folder (default: ") + command + "-out)"},
      {"workers", "j", "N", "forked worker processes per rank (default: the number of cores)"},
      {"timeout", "", "S", "seconds a point may take before it is killed and failed (default 600)"},
      {"resume", "", "",
       "continue the study in DIR/study.sqlite: finished points are not "
       "evaluated again"},
      {"batch", "", "N", "points per batch (grid, random; default 4 per worker and rank, >= 8)"},
      {"reference", "", "V,V,..",
       "hypervolume reference point, one value per objective "
       "(default: worst feasible value + 10% of the range)"},
      {"quiet", "q", "", "no progress bar and no summary"}};
  if (!sweep) {
    std::vector<OptionSpec> more = {
        {"algorithm", "a", "A", "search algorithm: random, nsga2, moead, dp (or grid)"},
        {"budget", "n", "N", "most points evaluated (default: 100, or the grid for grid/dp)"},
        {"seed", "s", "N", "seed of the algorithm (default 0)"},
        {"population", "", "N", "nsga2/moead population (default: budget/10 in 8..100)"},
        {"dp-cost", "", "C", "dp: latency (default) or energy, the cost the budget limits"},
        {"dp-budget", "", "X",
         "dp: best point per hardware with latency <= X ms (or energy <= X "
         "uJ); default: --dp-points points along each front"},
        {"dp-points", "", "N",
         "dp: points evaluated along each hardware point's front (default 8)"},
        {"outer", "", "A",
         "dp: search over the hardware points: grid (default), random or nsga2 "
         "(needs --dp-budget)"}};
    options.insert(options.begin(), more.begin(), more.end());
  }
  Args args(command,
            sweep ? "sweep SPACE.yaml [--out DIR] [--workers N] [--resume]"
                  : "search SPACE.yaml --algorithm A [--budget N] [--seed N] [options]",
            std::string(sweep ? "Evaluates every point of the design space's grid."
                              : "Searches the design space with algorithm A.") +
                "\nEach point compresses the workload as it says, simulates it on its hardware "
                "in a forked worker\n(per-op results cached) and is stored in DIR/study.sqlite as "
                "it finishes. At the end DIR holds\npoints.csv/json, pareto.csv/json, "
                "hypervolume.csv and study.json; scripts/plot_study.py DIR draws them.\nUnder "
                "`mpirun -np K` the points are spread over the ranks and gathered into one "
                "store.\nSpace format: search/README.md.",
            options, "SPACE.yaml");
  args.parse(argv);
  if (args.help_requested()) {
    std::cout << args.help();
    return 0;
  }
  if (args.positional().size() != 1)
    throw UsageError("codesim " + command + ": expects one SPACE.yaml; see `codesim " + command +
                     " --help`");
  search::StudyOptions opt;
  opt.algorithm = sweep ? "grid" : args.get("algorithm");
  if (!sweep && opt.algorithm.empty())
    throw UsageError("codesim search: --algorithm is required (random, nsga2, moead, dp)");
  if (!search::SearchRegistry::instance().find(opt.algorithm))
    throw UsageError("codesim " + command + ": unknown algorithm '" + opt.algorithm + "' (" +
                     sim::did_you_mean(opt.algorithm, search::SearchRegistry::instance().names()) +
                     ")");
  for (const char* dp_only : {"dp-cost", "dp-budget", "dp-points", "outer"})
    if (args.has(dp_only) && opt.algorithm != "dp")
      throw UsageError("codesim search: --" + std::string(dp_only) +
                       " applies to --algorithm dp only");
  opt.out = args.get("out", command + "-out");
  opt.workers = static_cast<int>(
      parse_number(args, command, "workers", std::max(1u, std::thread::hardware_concurrency()), 1));
  opt.timeout_seconds = parse_number(args, command, "timeout", 600, 0);
  opt.batch = static_cast<int>(parse_number(args, command, "batch", 0, 0));
  opt.budget = static_cast<uint64_t>(parse_number(args, command, "budget", 0, 1));
  opt.seed = static_cast<uint64_t>(parse_number(args, command, "seed", 0, 0));
  opt.population = static_cast<int>(parse_number(args, command, "population", 0, 8));
  opt.dp_cost = args.get("dp-cost", "latency");
  if (args.has("dp-budget")) opt.dp_budget = parse_number(args, command, "dp-budget", 0, 0);
  opt.dp_points = static_cast<int>(parse_number(args, command, "dp-points", 8, 1));
  opt.dp_outer = args.get("outer", "grid");
  if (opt.dp_outer != "grid" && opt.dp_outer != "random" && opt.dp_outer != "nsga2")
    throw UsageError("codesim search: --outer must be grid, random or nsga2, not '" + opt.dp_outer +
                     "' (" + sim::did_you_mean(opt.dp_outer, {"grid", "random", "nsga2"}) + ")");
  if (opt.dp_outer == "nsga2" && !opt.dp_budget)
    throw UsageError(
        "codesim search: --outer nsga2 needs --dp-budget (one dp pick per hardware "
        "point gives it its objectives)");
  opt.resume = args.has("resume");
  if (args.has("reference")) opt.reference = parse_list(command, args.get("reference"));

  search::Space space = search::load_space(args.positional()[0]);
  search::Comm comm;
  opt.progress = !args.has("quiet") && isatty(STDERR_FILENO) && comm.rank() == 0;
  auto evaluator = search::make_sim_evaluator(space);
  const search::StudyResult result = search::run_study(space, *evaluator, opt, comm);
  if (comm.rank() == 0 && !args.has("quiet")) {
    print_front(space, result.summary, result.front);
    std::cout << "wrote";
    for (const auto& f : result.files) std::cout << " " << f;
    std::cout << "\n";
  }
  return 0;
}

int cmd_search(const std::vector<std::string>& argv) { return cmd_study("search", argv); }

}  // namespace codesim::cli
