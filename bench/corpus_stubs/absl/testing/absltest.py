"""`absltest` as the samples use it: a TestCase and main() (unittest's)."""
import unittest

TestCase = unittest.TestCase


def main():
    unittest.main()
