"""The benchmarks (``neurorack bench ...``, registered in ``commands``) and their test rig (JACK's
dummy driver, a sine client, the fault bench). The runtime package never imports this one."""
