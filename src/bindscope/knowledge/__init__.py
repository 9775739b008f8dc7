"""knowledge/: plain data about servers and frameworks, the one source of truth that `ls`
(detection, warnings), and later `doctor` and `audit`, read."""
