//! ONNX Runtime through `ort` (loaded at run time from the set-up script's copy of the PyPI
//! wheel) and the models the pipelines run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;
use ort::value::TensorRef;

/// What can stop tracking from starting; each names what to do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The ONNX Runtime library was not found or would not load; why.
    #[error("ONNX Runtime is not available: {0}")]
    Runtime(String),
    /// A model file is in none of the model folders: its name, and the folders searched.
    #[error(
        "model {0} not found in {1}; run `bash scripts/setup.sh` or set $LING_MODELS to a folder holding it"
    )]
    MissingModel(String, String),
    /// A model failed to load or run.
    #[error("model {path}: {message}")]
    Model {
        /// The model file.
        path: PathBuf,
        /// What ONNX Runtime said, or which output was missing.
        message: String,
    },
}

/// The process's ONNX Runtime environment, created on first use.
pub(crate) fn environment() -> Result<&'static Environment, EngineError> {
    static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = super::find_onnxruntime()?;
        ort::init_from(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .build()
            .map_err(|e| format!("{}: {e}", path.display()))
    })
    .as_ref()
    .map_err(|e| EngineError::Runtime(e.clone()))
}

/// One model, ready to run on one thread.
pub struct Model {
    /// The file it was loaded from.
    pub(crate) path: PathBuf,
    session: Session,
    input: String,
    /// The input's dimensions as the file declares them (-1 for dynamic).
    pub(crate) input_shape: Vec<i64>,
    outputs: Vec<String>,
    /// Time spent in [`Model::run`] so far: the trackers report it as inference latency.
    pub(crate) busy: std::time::Duration,
}

impl Model {
    /// Finds `name` in the model folders and loads it.
    pub fn find(name: &str) -> Result<Self, EngineError> {
        let path = super::find_model(name).ok_or_else(|| {
            let dirs: Vec<String> = super::model_dirs()
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            EngineError::MissingModel(name.to_string(), dirs.join(", "))
        })?;
        Self::load(&path)
    }

    /// Loads the model at `path` into a session running on one intra-op thread.
    pub(crate) fn load(path: &Path) -> Result<Self, EngineError> {
        let env = environment()?;
        let err = |e: ort::Error| EngineError::Model {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let session = Session::builder(env)
            .map_err(err)?
            .with_intra_threads(1)
            .map_err(|e| err(e.into()))?
            .commit_from_file(path)
            .map_err(err)?;
        let input = session.inputs()[0].name().to_string();
        let input_shape = match session.inputs()[0].dtype() {
            ort::value::ValueType::Tensor { shape, .. } => shape.iter().copied().collect(),
            _ => Vec::new(),
        };
        let outputs = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        Ok(Self {
            path: path.to_owned(),
            session,
            input,
            input_shape,
            outputs,
            busy: std::time::Duration::ZERO,
        })
    }

    /// Runs the model on one float tensor of `shape`; returns every output, flattened, in the
    /// model's output order.
    pub fn run(&mut self, data: &[f32], shape: &[usize]) -> Result<Vec<Vec<f32>>, EngineError> {
        let started = std::time::Instant::now();
        let out = self.run_untimed(data, shape);
        self.busy += started.elapsed();
        out
    }

    fn run_untimed(&mut self, data: &[f32], shape: &[usize]) -> Result<Vec<Vec<f32>>, EngineError> {
        let err = |e: ort::Error| EngineError::Model {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let tensor = TensorRef::from_array_view((shape.to_vec(), data)).map_err(err)?;
        let outputs = self
            .session
            .run(ort::inputs![self.input.as_str() => tensor])
            .map_err(|e| EngineError::Model {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        let mut out = Vec::with_capacity(self.outputs.len());
        for name in &self.outputs {
            let (_, values) = outputs[name.as_str()]
                .try_extract_tensor::<f32>()
                .map_err(|e| EngineError::Model {
                    path: self.path.clone(),
                    message: e.to_string(),
                })?;
            out.push(values.to_vec());
        }
        Ok(out)
    }
}
