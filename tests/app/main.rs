//! The app's integration tests, in one test binary so Bevy and the app link once: the
//! `ling-stage` binary as a user runs it (`cli`), going on air to real ffmpeg receivers
//! (`broadcast`), audio in and out (`audio`), VMC against an independent peer (`vmc`), and faults
//! during a show (`faults`), and a full disk or `kill -9` cutting writing short (`crashes`).

mod audio;
mod broadcast;
mod cli;
mod console;
mod crashes;
mod cues;
mod faults;
mod iphone;
mod keying;
mod remote;
mod security;
mod shots;
mod support;
mod vmc;
