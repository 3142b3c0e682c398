"""Grading: execution in a sandbox for HumanEval-Infill (`execution`), exact match for SantaCoder-FIM
(`exact_match`), and `grader`, which picks the right one for a sample and returns a Verdict."""
