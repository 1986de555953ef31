// The linear-regression contract, built against an installed kiln.
#include <kiln/kiln.h>

#include <iostream>

int main() {
  kiln::manual_seed(0);
  auto x = kiln::randn({256, 10});
  auto y = kiln::matmul(x, kiln::randn({10, 1})) + 0.1f * kiln::randn({256, 1});
  auto w = kiln::zeros({10, 1}).requires_grad_();
  auto b = kiln::zeros({1}).requires_grad_();
  kiln::Tensor loss;
  for (int step = 0; step < 300; ++step) {
    loss = (kiln::matmul(x, w) + b - y).pow(2).mean();
    loss.backward();
    kiln::NoGradGuard no_grad;
    w -= 0.05f * w.grad();  b -= 0.05f * b.grad();
    w.grad().zero_();       b.grad().zero_();
  }
  std::cout << "loss " << loss.item<float>() << "\n";
}
