#pragma once
// The results store of one study: an SQLite file holding every point (parameters, metrics,
// status, error, timing), the evaluation caches and the study's settings. Each finished point is
// one transaction together with the cache entries it produced, so a killed study (even kill -9)
// leaves whole rows only, and `--resume` continues from them.

#include <sqlite3.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace codesim::search {

struct StoredPoint {
  int64_t id = 0;
  std::string key;     // point_key
  std::string status;  // ok | failed
  std::string error;
  std::string params;   // JSON {dimension: label}
  std::string metrics;  // JSON
  double seconds = 0;   // evaluation wall time (0 when served from the cache)
  int batch = 0;
  int rank = 0;  // MPI rank that evaluated it
};

class Store {
 public:
  // Opens (creating if needed) the store at `path`.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  std::optional<std::string> meta(const std::string& key) const;
  void set_meta(const std::string& key, const std::string& value);

  // Inserts the point and the cache entries in one transaction. A point whose key is already
  // stored is left as it is (never a duplicate row).
  void add(const StoredPoint& p, const std::map<std::string, std::string>& cache_entries);
  std::vector<StoredPoint> points() const;  // in insertion order
  std::map<std::string, std::string> cache() const;

 private:
  void exec(const std::string& sql) const;
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace codesim::search
