"""The verifiable tasks the demos train on: synthetic arithmetic (`make demo`), products to compute with a python
tool (`make demo TOOLS=1`), GSM8K's worked solutions as traces (`make gsm8k`), and the tiny model built for them."""
