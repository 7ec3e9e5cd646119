//! Integration tests of the charm SDK: the in-memory harness refuses what Juju refuses, the
//! hook-tool backend talks to (stub) tools with the right argv and sizes, and the parsers never
//! panic on arbitrary input.

mod harness;
mod hook_tools_backend;
mod props;
mod stub;
