//! Git itself does the git work: every read and write of a repository is a `git` plumbing
//! command on its bare directory (objects, trees, commits, refs with compare-and-swap), so ids
//! are git's and a repository is always one `git` can clone. Commands run without the host's
//! or the user's configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The id of a missing object in `update-ref` (create only if absent).
pub const ZERO: &str = "0000000000000000000000000000000000000000";

#[derive(Debug)]
pub struct GitError(pub String);

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A command's output.
pub struct Output {
    pub ok: bool,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// `git` on one repository directory.
#[derive(Debug, Clone)]
pub struct Repo {
    pub dir: PathBuf,
}

/// A command with the isolation every git call gets.
pub fn command(program: &str) -> Command {
    let mut c = Command::new(program);
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Whether `git` can be run here, and its version.
pub async fn version() -> Option<String> {
    let out = command("git").arg("--version").output().await.ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

impl Repo {
    pub fn new(dir: impl Into<PathBuf>) -> Repo {
        Repo { dir: dir.into() }
    }

    fn git(&self) -> Command {
        let mut c = command("git");
        c.arg("--git-dir").arg(&self.dir);
        c
    }

    /// Runs `git {args}` with optional input and environment.
    pub async fn run(&self, args: &[&str], input: Option<&[u8]>, env: &[(&str, &str)]) -> Result<Output, GitError> {
        let mut c = self.git();
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut child = c
            .spawn()
            .map_err(|e| GitError(format!("cannot run git (CodeCommit needs git installed on the server): {e}")))?;
        if let (Some(data), Some(mut stdin)) = (input, child.stdin.take()) {
            let data = data.to_vec();
            tokio::spawn(async move {
                let _ = stdin.write_all(&data).await;
            });
        }
        let out = child.wait_with_output().await.map_err(|e| GitError(format!("git did not finish: {e}")))?;
        Ok(Output { ok: out.status.success(), stdout: out.stdout, stderr: String::from_utf8_lossy(&out.stderr).into() })
    }

    /// Runs and wants success; answers stdout.
    pub async fn ok(&self, args: &[&str]) -> Result<Vec<u8>, GitError> {
        let out = self.run(args, None, &[]).await?;
        if out.ok { Ok(out.stdout) } else { Err(GitError(format!("git {}: {}", args.join(" "), out.stderr.trim()))) }
    }

    async fn text(&self, args: &[&str]) -> Result<String, GitError> {
        Ok(String::from_utf8_lossy(&self.ok(args).await?).trim().to_string())
    }

    /// A new bare repository, made durable (`core.fsync`) and open to pushes over HTTP.
    pub async fn init(dir: &Path) -> Result<Repo, GitError> {
        if let Some(parent) = dir.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| GitError(format!("cannot create {parent:?}: {e}")))?;
        }
        let out = command("git")
            .args(["init", "--bare", "--quiet"])
            .arg(dir)
            .output()
            .await
            .map_err(|e| GitError(format!("cannot run git (CodeCommit needs git installed on the server): {e}")))?;
        if !out.status.success() {
            return Err(GitError(format!("git init: {}", String::from_utf8_lossy(&out.stderr).trim())));
        }
        let repo = Repo::new(dir);
        for (k, v) in [
            ("core.fsync", "all"),
            ("core.fsyncMethod", "fsync"),
            ("http.receivepack", "true"),
            ("receive.denyDeleteCurrent", "true"),
            ("gc.auto", "0"),
        ] {
            repo.ok(&["config", k, v]).await?;
        }
        Ok(repo)
    }

    /// The branches: `refs/heads/{name}` → commit id.
    pub async fn branches(&self) -> Result<BTreeMap<String, String>, GitError> {
        let out = self.text(&["for-each-ref", "--format=%(objectname) %(refname)", "refs/heads"]).await?;
        Ok(out.lines().filter_map(|l| l.split_once(' ')).map(|(sha, r)| (r.to_string(), sha.to_string())).collect())
    }

    /// The commit a specifier (a branch, a commit id, any revision) names.
    pub async fn commit_of(&self, spec: &str) -> Result<Option<String>, GitError> {
        if spec.is_empty() || spec.starts_with('-') {
            return Ok(None);
        }
        let out = self.run(&["rev-parse", "--verify", "--quiet", &format!("{spec}^{{commit}}")], None, &[]).await?;
        Ok(out.ok.then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|s| !s.is_empty()))
    }

    /// An object's type (`blob`, `tree`, `commit`), or None when there is no such object.
    pub async fn object_type(&self, id: &str) -> Result<Option<String>, GitError> {
        if id.is_empty() || id.starts_with('-') {
            return Ok(None);
        }
        let out = self.run(&["cat-file", "-t", id], None, &[]).await?;
        Ok(out.ok.then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
    }

    pub async fn cat(&self, kind: &str, id: &str) -> Result<Vec<u8>, GitError> {
        self.ok(&["cat-file", kind, id]).await
    }

    /// Writes a blob; answers its id.
    pub async fn write_blob(&self, data: &[u8]) -> Result<String, GitError> {
        let out = self.run(&["hash-object", "-w", "--stdin"], Some(data), &[]).await?;
        if !out.ok {
            return Err(GitError(format!("git hash-object: {}", out.stderr.trim())));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The entries of a tree (`{commit}:{path}`, or a tree id): (mode, type, id, name).
    pub async fn ls_tree(&self, treeish: &str) -> Result<Option<Vec<(String, String, String, String)>>, GitError> {
        let out = self.run(&["ls-tree", "-z", treeish], None, &[]).await?;
        if !out.ok {
            return Ok(None);
        }
        Ok(Some(
            out.stdout
                .split(|b| *b == 0)
                .filter(|e| !e.is_empty())
                .filter_map(|e| {
                    let e = String::from_utf8_lossy(e);
                    let (meta, name) = e.split_once('\t')?;
                    let mut m = meta.split(' ');
                    Some((m.next()?.to_string(), m.next()?.to_string(), m.next()?.to_string(), name.to_string()))
                })
                .collect(),
        ))
    }

    /// The tree entry at `path` in a commit: (mode, type, id).
    pub async fn entry(&self, commit: &str, path: &str) -> Result<Option<(String, String, String)>, GitError> {
        let out = self.run(&["ls-tree", "-z", commit, "--", path], None, &[]).await?;
        if !out.ok {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let Some(first) = text.split('\0').next().filter(|e| !e.is_empty()) else { return Ok(None) };
        let Some((meta, name)) = first.split_once('\t') else { return Ok(None) };
        if name != path {
            return Ok(None);
        }
        let mut m = meta.split(' ');
        match (m.next(), m.next(), m.next()) {
            (Some(mode), Some(ty), Some(id)) => Ok(Some((mode.into(), ty.into(), id.into()))),
            _ => Ok(None),
        }
    }

    /// A commit's tree, parents, author and committer lines and message.
    pub async fn commit(&self, id: &str) -> Result<Option<Commit>, GitError> {
        if self.object_type(id).await?.as_deref() != Some("commit") {
            return Ok(None);
        }
        let raw = self.cat("commit", id).await?;
        Ok(Commit::parse(id, &String::from_utf8_lossy(&raw)))
    }

    /// A commit of `tree` on `parents`; author and committer as given (now when no date).
    pub async fn commit_tree(
        &self,
        tree: &str,
        parents: &[String],
        message: &str,
        name: &str,
        email: &str,
    ) -> Result<String, GitError> {
        let mut args = vec!["commit-tree".to_string(), tree.to_string()];
        for p in parents {
            args.push("-p".into());
            args.push(p.clone());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let env = [
            ("GIT_AUTHOR_NAME", name),
            ("GIT_AUTHOR_EMAIL", email),
            ("GIT_COMMITTER_NAME", name),
            ("GIT_COMMITTER_EMAIL", email),
        ];
        let out = self.run(&refs, Some(message.as_bytes()), &env).await?;
        if !out.ok {
            return Err(GitError(format!("git commit-tree: {}", out.stderr.trim())));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// A tree: `base` (a commit or tree, or none) with `changes` applied — `(path, Some((mode,
    /// blob)))` to put, `(path, None)` to remove — through a temporary index.
    pub async fn tree_with(
        &self,
        base: Option<&str>,
        changes: &[(String, Option<(String, String)>)],
        scratch: &Path,
    ) -> Result<String, GitError> {
        let index = scratch.join(format!("index-{}", std::process::id()));
        let index = index.with_extension(format!("{}", rand_suffix()));
        let index_s = index.to_string_lossy().to_string();
        let env = [("GIT_INDEX_FILE", index_s.as_str())];
        let result = async {
            match base {
                Some(b) => self.expect(&["read-tree", b], &env).await?,
                None => self.expect(&["read-tree", "--empty"], &env).await?,
            }
            // One `update-index --index-info`: `mode id\tpath` puts, mode 0 removes.
            let mut info = String::new();
            for (path, change) in changes {
                match change {
                    Some((mode, blob)) => info.push_str(&format!("{mode} {blob}\t{path}\n")),
                    None => info.push_str(&format!("0 {ZERO}\t{path}\n")),
                }
            }
            let out = self.run(&["update-index", "--index-info"], Some(info.as_bytes()), &env).await?;
            if !out.ok {
                return Err(GitError(format!("git update-index: {}", out.stderr.trim())));
            }
            let out = self.run(&["write-tree"], None, &env).await?;
            if !out.ok {
                return Err(GitError(format!("git write-tree: {}", out.stderr.trim())));
            }
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        }
        .await;
        let _ = tokio::fs::remove_file(&index).await;
        result
    }

    async fn expect(&self, args: &[&str], env: &[(&str, &str)]) -> Result<(), GitError> {
        let out = self.run(args, None, env).await?;
        if out.ok { Ok(()) } else { Err(GitError(format!("git {}: {}", args.join(" "), out.stderr.trim()))) }
    }

    /// Moves a ref from `old` (ZERO: it must not exist) to `new`; false when it was not at `old`.
    pub async fn update_ref(&self, name: &str, new: &str, old: &str) -> Result<bool, GitError> {
        Ok(self.run(&["update-ref", name, new, old], None, &[]).await?.ok)
    }

    pub async fn delete_ref(&self, name: &str, old: &str) -> Result<bool, GitError> {
        Ok(self.run(&["update-ref", "-d", name, old], None, &[]).await?.ok)
    }

    /// Points HEAD at a branch (the default branch).
    pub async fn set_head(&self, branch: &str) -> Result<(), GitError> {
        self.ok(&["symbolic-ref", "HEAD", &format!("refs/heads/{branch}")]).await.map(|_| ())
    }

    /// Changed paths between two commits (or from nothing): (old mode, new mode, old id, new
    /// id, status letter, path).
    pub async fn diff(&self, before: Option<&str>, after: &str) -> Result<Vec<Change>, GitError> {
        let empty_tree = self.text(&["hash-object", "-t", "tree", "/dev/null"]).await?;
        let before = before.unwrap_or(&empty_tree);
        let raw = self.ok(&["diff-tree", "-r", "-z", "--no-renames", before, after]).await?;
        let text = String::from_utf8_lossy(&raw).to_string();
        let mut parts = text.split('\0').filter(|p| !p.is_empty());
        let mut out = Vec::new();
        while let (Some(meta), Some(path)) = (parts.next(), parts.next()) {
            let f: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
            if f.len() >= 5 {
                out.push(Change {
                    old_mode: f[0].into(),
                    new_mode: f[1].into(),
                    old_id: f[2].into(),
                    new_id: f[3].into(),
                    status: f[4].chars().next().unwrap_or('M'),
                    path: path.to_string(),
                });
            }
        }
        Ok(out)
    }

    /// Whether `a` is an ancestor of (or equal to) `b`.
    pub async fn is_ancestor(&self, a: &str, b: &str) -> Result<bool, GitError> {
        Ok(self.run(&["merge-base", "--is-ancestor", a, b], None, &[]).await?.ok)
    }

    /// The tree of merging `theirs` into `ours` (git's `merge-tree --write-tree`), and the
    /// paths that conflict.
    pub async fn merge_tree(&self, ours: &str, theirs: &str) -> Result<MergeTree, GitError> {
        let out =
            self.run(&["merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs], None, &[]).await?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let mut lines = text.lines();
        let tree = lines.next().unwrap_or_default().trim().to_string();
        if tree.len() < 40 {
            return Err(GitError(format!("git merge-tree: {}", out.stderr.trim())));
        }
        let conflicts: Vec<String> =
            if out.ok { Vec::new() } else { lines.take_while(|l| !l.is_empty()).map(str::to_string).collect() };
        Ok(MergeTree { tree, conflicts })
    }

    pub async fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, GitError> {
        let out = self.run(&["merge-base", a, b], None, &[]).await?;
        Ok(out.ok.then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// What merging two commits gives.
#[derive(Debug, Clone)]
pub struct MergeTree {
    pub tree: String,
    /// Conflicting paths (none: the merge is clean).
    pub conflicts: Vec<String>,
}

/// One changed path of a diff.
#[derive(Debug, Clone)]
pub struct Change {
    pub old_mode: String,
    pub new_mode: String,
    pub old_id: String,
    pub new_id: String,
    pub status: char,
    pub path: String,
}

/// A commit as git stores it.
#[derive(Debug, Clone)]
pub struct Commit {
    pub id: String,
    pub tree: String,
    pub parents: Vec<String>,
    /// `Name <email> 1484167798 -0800`.
    pub author: String,
    pub committer: String,
    pub message: String,
}

impl Commit {
    pub fn parse(id: &str, raw: &str) -> Option<Commit> {
        let (head, message) = raw.split_once("\n\n").unwrap_or((raw, ""));
        let mut c = Commit {
            id: id.to_string(),
            tree: String::new(),
            parents: Vec::new(),
            author: String::new(),
            committer: String::new(),
            message: message.to_string(),
        };
        for line in head.lines() {
            if let Some(t) = line.strip_prefix("tree ") {
                c.tree = t.to_string();
            } else if let Some(p) = line.strip_prefix("parent ") {
                c.parents.push(p.to_string());
            } else if let Some(a) = line.strip_prefix("author ") {
                c.author = a.to_string();
            } else if let Some(a) = line.strip_prefix("committer ") {
                c.committer = a.to_string();
            }
        }
        (!c.tree.is_empty()).then_some(c)
    }
}

/// `Name <email> 1484167798 -0800` as (name, email, "1484167798 -0800").
pub fn person(line: &str) -> (String, String, String) {
    let (name, rest) = line.split_once(" <").unwrap_or((line, ""));
    let (email, date) = rest.split_once("> ").unwrap_or((rest.trim_end_matches('>'), ""));
    (name.to_string(), email.to_string(), date.to_string())
}

/// CodeCommit's file modes for git's.
pub fn file_mode(git_mode: &str) -> &'static str {
    match git_mode {
        "100755" => "EXECUTABLE",
        "120000" => "SYMLINK",
        _ => "NORMAL",
    }
}

pub fn git_mode(file_mode: &str) -> Option<&'static str> {
    match file_mode {
        "NORMAL" | "" => Some("100644"),
        "EXECUTABLE" => Some("100755"),
        "SYMLINK" => Some("120000"),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn commits_and_people() {
        let raw = "tree abc\nparent p1\nparent p2\nauthor A B <a@b> 1484167798 -0800\ncommitter C <c@d> 1484167799 +0000\n\nmsg\n";
        let c = Commit::parse("id", raw).unwrap();
        assert_eq!((c.tree.as_str(), c.parents.len(), c.message.as_str()), ("abc", 2, "msg\n"));
        assert_eq!(person(&c.author), ("A B".into(), "a@b".into(), "1484167798 -0800".into()));
        assert_eq!(file_mode("100755"), "EXECUTABLE");
        assert_eq!(git_mode("NORMAL"), Some("100644"));
    }
}
