//! hybridlab scenario engine and the `hybridlab` command-line tool
