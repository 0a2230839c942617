"""`ofsted-homes refresh`: crawl, gate, load into a copy, publish."""
