#include "tests/test_util.h"

#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace codesim::test {

std::string temp_dir() {
  static std::atomic<int> n{0};
  std::random_device rd;
  const auto p = std::filesystem::temp_directory_path() /
                 ("codesim_test_" + std::to_string(rd()) + "_" + std::to_string(n++));
  std::filesystem::create_directories(p);
  return p.string();
}

std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::path(dir) / name).string();
  std::ofstream(path) << text;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::stringstream text(read_file(path));
  std::string line;
  std::getline(text, line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string cell; std::getline(hs, cell, ',');) header.push_back(cell);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(text, line)) {
    if (line.empty()) continue;
    std::map<std::string, std::string> row;
    std::stringstream ls(line);
    std::string cell;
    for (const auto& h : header) {
      if (!std::getline(ls, cell, ',')) cell.clear();
      row[h] = cell;
    }
    rows.push_back(row);
  }
  return rows;
}

Command run_codesim(const std::string& args) {
  const std::string dir = temp_dir();
  const std::string out = dir + "/stdout", err = dir + "/stderr";
  const std::string cmd =
      std::string(CODESIM_BINARY) + " " + args + " >" + out + " 2>" + err + " </dev/null";
  const int raw = std::system(cmd.c_str());
  Command c;
  c.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  c.out = read_file(out);
  c.err = read_file(err);
  return c;
}

std::string source_path(const std::string& rel) {
  return std::string(CODESIM_SOURCE_DIR) + "/" + rel;
}

}  // namespace codesim::test
