#include "search/store.h"

#include <stdexcept>

namespace codesim::search {

namespace {

struct Statement {
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt); }
  void text(int i, const std::string& s) {
    sqlite3_bind_text(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void blob(int i, const std::string& s) {
    sqlite3_bind_blob(stmt, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  std::string column(int i) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, i))) : std::string();
  }
  sqlite3_stmt* stmt = nullptr;
};

}  // namespace

Store::Store(const std::string& path) : path_(path) {
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open results store " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 10000);
  // WAL: a commit is one append, and a killed writer leaves the last committed state.
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec(
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS points (id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " key TEXT NOT NULL UNIQUE, status TEXT NOT NULL, error TEXT NOT NULL, params TEXT NOT NULL,"
      " metrics TEXT NOT NULL, seconds REAL NOT NULL, batch INTEGER NOT NULL,"
      " rank INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value BLOB NOT NULL);");
}

Store::~Store() { sqlite3_close(db_); }

void Store::exec(const std::string& sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("sqlite (" + path_ + "): " + msg);
  }
}

std::optional<std::string> Store::meta(const std::string& key) const {
  Statement s(db_, "SELECT value FROM meta WHERE key = ?");
  s.text(1, key);
  if (sqlite3_step(s.stmt) == SQLITE_ROW) return s.column(0);
  return std::nullopt;
}

void Store::set_meta(const std::string& key, const std::string& value) {
  Statement s(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  s.text(1, key);
  s.text(2, value);
  if (sqlite3_step(s.stmt) != SQLITE_DONE)
    throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
}

void Store::add(const StoredPoint& p, const std::map<std::string, std::string>& cache_entries) {
  exec("BEGIN IMMEDIATE");
  try {
    {
      Statement s(db_,
                  "INSERT OR IGNORE INTO points (key, status, error, params, metrics, seconds, "
                  "batch, rank) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
      s.text(1, p.key);
      s.text(2, p.status);
      s.text(3, p.error);
      s.text(4, p.params);
      s.text(5, p.metrics);
      sqlite3_bind_double(s.stmt, 6, p.seconds);
      sqlite3_bind_int(s.stmt, 7, p.batch);
      sqlite3_bind_int(s.stmt, 8, p.rank);
      if (sqlite3_step(s.stmt) != SQLITE_DONE)
        throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
    }
    Statement c(db_, "INSERT OR IGNORE INTO cache (key, value) VALUES (?, ?)");
    for (const auto& kv : cache_entries) {
      sqlite3_reset(c.stmt);
      c.text(1, kv.first);
      c.blob(2, kv.second);
      if (sqlite3_step(c.stmt) != SQLITE_DONE)
        throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
    }
    exec("COMMIT");
  } catch (...) {
    exec("ROLLBACK");
    throw;
  }
}

std::vector<StoredPoint> Store::points() const {
  Statement s(db_,
              "SELECT id, key, status, error, params, metrics, seconds, batch, rank FROM points "
              "ORDER BY id");
  std::vector<StoredPoint> out;
  while (sqlite3_step(s.stmt) == SQLITE_ROW) {
    StoredPoint p;
    p.id = sqlite3_column_int64(s.stmt, 0);
    p.key = s.column(1);
    p.status = s.column(2);
    p.error = s.column(3);
    p.params = s.column(4);
    p.metrics = s.column(5);
    p.seconds = sqlite3_column_double(s.stmt, 6);
    p.batch = sqlite3_column_int(s.stmt, 7);
    p.rank = sqlite3_column_int(s.stmt, 8);
    out.push_back(std::move(p));
  }
  return out;
}

std::map<std::string, std::string> Store::cache() const {
  Statement s(db_, "SELECT key, value FROM cache");
  std::map<std::string, std::string> out;
  while (sqlite3_step(s.stmt) == SQLITE_ROW) out[s.column(0)] = s.column(1);
  return out;
}

}  // namespace codesim::search
