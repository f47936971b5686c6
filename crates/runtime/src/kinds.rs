//! The runtimes this machine can run, their interpreters, and the command line and environment
//! variables an execution environment starts with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::RuntimeError;
use crate::code::CodeDir;

/// The runtime interface clients this crate ships (written to `<work_dir>/runtime/` at start).
pub(crate) const PYTHON_RIC: &str = include_str!("ric/bootstrap.py");
pub(crate) const NODE_RIC: &str = include_str!("ric/bootstrap.cjs");
pub(crate) const PYTHON_RIC_FILE: &str = "bootstrap.py";
pub(crate) const NODE_RIC_FILE: &str = "bootstrap.cjs";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `provided.al2023`, `provided.al2`, `provided`: the package's `bootstrap`.
    Provided { family: &'static str },
    /// `python3.12` → "3.12"
    Python { version: String },
    /// `nodejs20.x` → "20"
    Node { major: String },
}

impl Kind {
    pub(crate) fn parse(runtime: &str) -> Option<Kind> {
        match runtime {
            "provided.al2023" => return Some(Kind::Provided { family: "al2023" }),
            "provided.al2" => return Some(Kind::Provided { family: "al2" }),
            "provided" => return Some(Kind::Provided { family: "al1" }),
            _ => {}
        }
        let number = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
        if let Some(v) = runtime.strip_prefix("python3.")
            && number(v)
        {
            return Some(Kind::Python { version: format!("3.{v}") });
        }
        if let Some(v) = runtime.strip_prefix("nodejs").and_then(|v| v.strip_suffix(".x"))
            && number(v)
        {
            return Some(Kind::Node { major: v.to_string() });
        }
        None
    }

    /// `AWS_EXECUTION_ENV`; OS-only runtimes have none.
    pub(crate) fn execution_env(&self, runtime: &str) -> Option<String> {
        match self {
            Kind::Provided { .. } => None,
            _ => Some(format!("AWS_Lambda_{runtime}")),
        }
    }

    /// The `INIT_START Runtime Version:` value.
    pub(crate) fn version_label(&self) -> String {
        match self {
            Kind::Provided { family } => format!("provided:{family}"),
            Kind::Python { version } => format!("python:{version}"),
            Kind::Node { major } => format!("nodejs:{major}"),
        }
    }
}

/// A resolved interpreter: the real executable (not a version manager's shim, which would need
/// the server's environment) and its version.
#[derive(Debug, Clone)]
pub(crate) struct Interpreter {
    pub path: PathBuf,
    pub version: String,
}

#[derive(Default)]
pub(crate) struct Interpreters {
    python: OnceLock<Result<Interpreter, String>>,
    node: OnceLock<Result<Interpreter, String>>,
}

impl Interpreters {
    pub(crate) fn python(&self, configured: Option<&Path>) -> Result<Interpreter, RuntimeError> {
        self.python
            .get_or_init(|| {
                resolve(
                    configured,
                    "python3",
                    &["-c", "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"],
                )
            })
            .clone()
            .map_err(RuntimeError::MissingInterpreter)
    }

    pub(crate) fn node(&self, configured: Option<&Path>) -> Result<Interpreter, RuntimeError> {
        self.node
            .get_or_init(|| {
                resolve(
                    configured,
                    "node",
                    &["-e", "console.log(process.execPath); console.log(process.versions.node)"],
                )
            })
            .clone()
            .map_err(RuntimeError::MissingInterpreter)
    }

    pub(crate) fn for_kind(
        &self,
        kind: &Kind,
        python: Option<&Path>,
        node: Option<&Path>,
    ) -> Result<Option<Interpreter>, RuntimeError> {
        match kind {
            Kind::Provided { .. } => Ok(None),
            Kind::Python { .. } => self.python(python).map(Some),
            Kind::Node { .. } => self.node(node).map(Some),
        }
    }
}

fn resolve(configured: Option<&Path>, name: &str, probe: &[&str]) -> Result<Interpreter, String> {
    let candidate = match configured {
        Some(p) => p.to_path_buf(),
        None => which(name).ok_or_else(|| format!("{name} was not found on PATH: install it to run this runtime"))?,
    };
    let out = Command::new(&candidate)
        .args(probe)
        .output()
        .map_err(|e| format!("{} could not be run: {e}", candidate.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", candidate.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let path = lines.next().map(str::trim).filter(|s| !s.is_empty()).map(PathBuf::from).unwrap_or(candidate);
    let version = lines.next().unwrap_or("").trim().to_string();
    Ok(Interpreter { path, version })
}

fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// What to execute for an environment.
pub(crate) struct Launch {
    pub program: PathBuf,
    pub args: Vec<String>,
}

/// Where the bootstrap of a provided runtime is, as AWS looks for it.
pub(crate) fn provided_bootstrap(code: &CodeDir) -> Result<PathBuf, String> {
    let candidates = [code.task.join("bootstrap"), code.opt.join("bootstrap")];
    for c in &candidates {
        if std::fs::metadata(c).is_ok_and(|m| m.is_file()) {
            return Ok(c.clone());
        }
    }
    Err(format!("Couldn't find valid bootstrap(s): [{} {}]", candidates[0].display(), candidates[1].display()))
}

/// A host path as the function sees it: inside the sandbox the package is at `/var/task`, the
/// layers at `/opt` and the runtime clients at `/var/runtime`.
pub(crate) fn seen(path: &Path, code: &CodeDir, ric_dir: &Path, sandboxed: bool) -> PathBuf {
    if !sandboxed {
        return path.to_path_buf();
    }
    for (host, inside) in [(&code.task, crate::sandbox::TASK), (&code.opt, crate::sandbox::OPT)] {
        if let Ok(rest) = path.strip_prefix(host) {
            return Path::new(inside).join(rest);
        }
    }
    match path.strip_prefix(ric_dir) {
        Ok(rest) => Path::new(crate::sandbox::RUNTIME).join(rest),
        Err(_) => path.to_path_buf(),
    }
}

pub(crate) fn launch(
    kind: &Kind,
    code: &CodeDir,
    interpreter: Option<&Interpreter>,
    ric_dir: &Path,
    memory_mb: u32,
    sandboxed: bool,
) -> Result<Launch, String> {
    let ric = |file: &str| seen(&ric_dir.join(file), code, ric_dir, sandboxed).to_string_lossy().into_owned();
    match (kind, interpreter) {
        (Kind::Provided { .. }, _) => {
            Ok(Launch { program: seen(&provided_bootstrap(code)?, code, ric_dir, sandboxed), args: Vec::new() })
        }
        (Kind::Python { .. }, Some(i)) => Ok(Launch { program: i.path.clone(), args: vec![ric(PYTHON_RIC_FILE)] }),
        (Kind::Node { .. }, Some(i)) => Ok(Launch {
            program: i.path.clone(),
            // AWS's Node runtime sizes the heap from the memory setting the same way.
            args: vec![format!("--max-old-space-size={}", (u64::from(memory_mb) * 9 / 10).max(32)), ric(NODE_RIC_FILE)],
        }),
        _ => Err("no interpreter".into()),
    }
}

/// The parts of an environment's variables that are not in the spec.
pub(crate) struct EnvVars<'a> {
    pub spec: &'a crate::FunctionSpec,
    pub kind: &'a Kind,
    pub code: &'a CodeDir,
    pub interpreter: Option<&'a Interpreter>,
    pub ric_dir: &'a Path,
    pub tmp: &'a Path,
    pub api: &'a str,
    pub log_stream: &'a str,
    /// The process runs in the sandbox (AWS's paths) rather than on the host's paths.
    pub sandboxed: bool,
}

impl EnvVars<'_> {
    /// The environment a function process starts with (nothing of the server's own).
    pub(crate) fn build(&self) -> BTreeMap<String, String> {
        let spec = self.spec;
        let p = |p: &Path| p.to_string_lossy().into_owned();
        let (task, opt, tmp, runtime) = if self.sandboxed {
            let s = |x: &str| x.to_string();
            (s(crate::sandbox::TASK), s(crate::sandbox::OPT), s(crate::sandbox::TMP), s(crate::sandbox::RUNTIME))
        } else {
            (p(&self.code.task), p(&self.code.opt), p(self.tmp), p(self.ric_dir))
        };
        let mut env = BTreeMap::new();
        let mut path = Vec::new();
        if let Some(dir) = self.interpreter.and_then(|i| i.path.parent()) {
            path.push(p(dir));
        }
        path.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(String::from));
        path.push(format!("{opt}/bin"));
        env.insert("PATH".into(), path.join(":"));
        env.insert("LD_LIBRARY_PATH".into(), format!("{task}:{task}/lib:{opt}/lib"));
        env.insert("LANG".into(), "en_US.UTF-8".into());
        env.insert("TZ".into(), ":UTC".into());
        env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), spec.function_name.clone());
        env.insert("AWS_LAMBDA_FUNCTION_VERSION".into(), spec.version.clone());
        env.insert("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), spec.memory_mb.to_string());
        env.insert("AWS_LAMBDA_LOG_GROUP_NAME".into(), spec.log_group.clone());
        env.insert("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into());
        if let Some(e) = self.kind.execution_env(&spec.runtime) {
            env.insert("AWS_EXECUTION_ENV".into(), e);
        }
        match self.kind {
            Kind::Python { version } => {
                let mut dirs = vec![format!("{opt}/python/lib/python{version}/site-packages")];
                if let Some(host) = self.interpreter.map(|i| &i.version).filter(|v| *v != version && !v.is_empty()) {
                    dirs.push(format!("{opt}/python/lib/python{host}/site-packages"));
                }
                dirs.push(format!("{opt}/python"));
                env.insert("PYTHONPATH".into(), dirs.join(":"));
            }
            Kind::Node { major } => {
                env.insert(
                    "NODE_PATH".into(),
                    format!(
                        "{opt}/nodejs/node{major}/node_modules:{opt}/nodejs/node_modules:{task}/node_modules:{task}"
                    ),
                );
            }
            Kind::Provided { .. } => {}
        }
        // Certificate authorities to trust (the system's and the server's own), when the server
        // gave some: for SDKs, OpenSSL-based clients and Node; a function's own setting wins.
        if self.ric_dir.join(CA_BUNDLE_FILE).is_file() {
            let bundle = format!("{runtime}/{CA_BUNDLE_FILE}");
            for k in ["AWS_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"] {
                env.insert(k.into(), bundle.clone());
            }
        }
        for (k, v) in &spec.env {
            env.insert(k.clone(), v.clone());
        }
        // What belongs to this one environment is not the caller's to choose.
        env.insert("AWS_LAMBDA_RUNTIME_API".into(), self.api.to_string());
        env.insert("AWS_LAMBDA_LOG_STREAM_NAME".into(), self.log_stream.to_string());
        env.insert("LAMBDA_TASK_ROOT".into(), task);
        env.insert("LAMBDA_RUNTIME_DIR".into(), runtime);
        env.insert("_HANDLER".into(), spec.handler.clone());
        env.insert("TMPDIR".into(), tmp);
        env
    }
}

/// The certificate authorities environments trust, in the runtime directory.
pub(crate) const CA_BUNDLE_FILE: &str = "ca-bundle.pem";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_runtime_names() {
        assert_eq!(Kind::parse("provided.al2023"), Some(Kind::Provided { family: "al2023" }));
        assert_eq!(Kind::parse("python3.12"), Some(Kind::Python { version: "3.12".into() }));
        assert_eq!(Kind::parse("nodejs20.x"), Some(Kind::Node { major: "20".into() }));
        for bad in ["python2.7", "python3.", "nodejs", "nodejs20", "java21", "ruby3.3", "go1.x", ""] {
            assert_eq!(Kind::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Kind::parse("python3.12").and_then(|k| k.execution_env("python3.12")).as_deref(),
            Some("AWS_Lambda_python3.12")
        );
        assert_eq!(Kind::parse("provided.al2").and_then(|k| k.execution_env("provided.al2")), None);
    }
}
