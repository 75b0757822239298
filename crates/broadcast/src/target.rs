//! Where the program goes: stream URLs, files and virtual cameras, and the ffmpeg command for each.
