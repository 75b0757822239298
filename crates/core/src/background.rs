//! Loads that must not stall a live frame: reading an avatar or a motion-capture file the
//! operator picked mid-show runs on its own thread, and the frame that finds it finished puts it
//! on stage. Offline renders and tests drive the clock themselves and need the result on the
//! frame that asked, every time, so they load in place ([`LoadPolicy::Wait`]): a render has no
//! frame deadline.

use bevy::prelude::Resource;

/// Whether loads asked for during a frame may block it. Set by the runner (see
/// [`crate::show::insert_show`]); without one, loads run in the background.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadPolicy {
    /// Load on a thread; the frame that finds it finished uses it (live shows).
    #[default]
    Background,
    /// Load in place on the frame that asks (offline renders, tests).
    Wait,
}

/// A value being produced off the frame thread.
pub struct Background<T> {
    rx: crossbeam_channel::Receiver<T>,
}

impl<T: Send + 'static> Background<T> {
    /// Starts `load` on a thread named `name`, or runs it now under [`LoadPolicy::Wait`].
    pub fn start(
        name: &str,
        policy: LoadPolicy,
        load: impl FnOnce() -> T + Send + 'static,
    ) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(1);
        if policy == LoadPolicy::Wait {
            let _ = tx.send(load());
        } else {
            let spawned = std::thread::Builder::new().name(name.to_string()).spawn({
                let tx = tx.clone();
                move || {
                    let _ = tx.send(load());
                }
            });
            if let Err(e) = spawned {
                bevy::log::error!("cannot start {name}: {e}");
            }
        }
        Self { rx }
    }

    /// The result, once it is there.
    pub fn poll(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_loads_are_ready_at_once_and_threaded_ones_arrive() {
        assert_eq!(
            Background::start("now", LoadPolicy::Wait, || 7).poll(),
            Some(7)
        );
        let later = Background::start("later", LoadPolicy::Background, || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            8
        });
        let start = std::time::Instant::now();
        let value = loop {
            if let Some(v) = later.poll() {
                break v;
            }
            assert!(start.elapsed().as_secs() < 5, "the load never finished");
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        assert_eq!(value, 8);
    }
}
