//! Integration tests of the hook-tool grammar: the argv the SDK produces, round trips, the forms
//! older ops versions send (from `shared/ops-hook-tool-transcripts.md`), and robustness.

mod generations;
mod produce;
mod robustness;
