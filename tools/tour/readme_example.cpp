// The example in README.md's "## Example" section, verbatim from the first
// #include down. It is built and run by `meson test` (test readme-example),
// so the README's example always compiles and runs, and the test
// readme-example-in-sync (check_readme_example.py) fails when the README's
// copy and this file differ: edit both together.
#include <weft/weft.hpp>

#include <iostream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

// Stand-ins: a remote call that fails now and then, and a blocking legacy call.
int fetch_price(int id) {
  if (id % 3 == 2) throw std::runtime_error("shard " + std::to_string(id) + " timed out");
  return 100 + id;
}
double read_rate_from_legacy_db() { return 1.25; }  // blocks its thread in real life

int main() {
  std::vector<weft::future<int>> prices;
  for (int id = 0; id < 6; ++id)  // fan out on the work-stealing pool; a failed call counts as 0
    prices.push_back(weft::async(weft::default_pool(), [id] { return fetch_price(id); })
                         .on_error<std::runtime_error>([](std::runtime_error&) { return 0; }));
  weft::future<double> rate = weft::offload(read_rate_from_legacy_db);  // off the compute pool
  weft::future<double> total =
      weft::when_all(weft::when_all(prices), std::move(rate))  // gather both, then continue
          .then([](std::tuple<std::vector<int>, double> t) {
            const std::vector<int>& v = std::get<0>(t);
            return std::accumulate(v.begin(), v.end(), 0) * std::get<1>(t);
          });
  std::cout << "total: " << total.get() << '\n';  // total: 510
}
