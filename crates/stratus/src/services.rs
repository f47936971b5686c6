//! The services the binary serves, each added by one [`Registration`]: its API model (for the
//! AWS API door), a front door of its own if it has one (S3), what to do after a reset, files it
//! serves under `/_stratus/`, and unsigned requests it accepts (SNS's links). The gateway's
//! doors are built from this list, so a new service touches `main.rs` in one place.

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use stratus_iam::Principal;
use stratus_proto::Service;

use crate::gateway::FrontDoor;

/// A file a service serves at `/_stratus/{prefix}/{name}` (a certificate, a code package).
/// `(content type, bytes)` of a platform file, `None` when there is none.
pub type FileResult = Result<Option<(&'static str, Bytes)>, String>;

pub trait PlatformFiles: Send + Sync {
    /// The first path segment after `/_stratus/`.
    fn prefix(&self) -> &'static str;
    /// `(content type, bytes)` of `name`, or `None` when there is no such file (or the URL's
    /// `query` does not grant it, for files that are presigned).
    fn get<'a>(&'a self, name: &'a str, query: &'a str) -> stratus_proto::BoxFuture<'a, FileResult>;
}

/// Who an unsigned request (its head and body) acts for, when a service accepts it without a
/// signature.
pub type UnsignedPrincipal = Box<dyn Fn(&Parts, &Bytes) -> Option<Principal> + Send + Sync>;

pub struct Registration {
    pub name: &'static str,
    pub api: Option<Arc<dyn Service>>,
    /// Asked after the platform door and before the AWS API door: data planes known by host
    /// (execute-api, ALB).
    pub door: Option<Arc<dyn FrontDoor>>,
    /// Asked last, taking what no other door claimed (S3's path-style URLs).
    pub fallback: Option<Arc<dyn FrontDoor>>,
    pub reset: Option<Box<dyn Fn() + Send + Sync>>,
    pub files: Option<Arc<dyn PlatformFiles>>,
    pub unsigned: Option<UnsignedPrincipal>,
}

impl Registration {
    pub fn new(name: &'static str) -> Self {
        Registration { name, api: None, door: None, fallback: None, reset: None, files: None, unsigned: None }
    }

    /// An AWS API served through the AWS API door, by its model.
    pub fn api(mut self, service: Arc<dyn Service>) -> Self {
        self.api = Some(service);
        self
    }

    /// A data plane known by its hosts or paths (execute-api, ALB), asked before the AWS APIs.
    pub fn door(mut self, door: Arc<dyn FrontDoor>) -> Self {
        self.door = Some(door);
        self
    }

    /// The door that takes every request no other door claimed (one service has it: S3).
    pub fn fallback(mut self, door: Arc<dyn FrontDoor>) -> Self {
        self.fallback = Some(door);
        self
    }

    /// Runs after a reset wiped the store (in-memory state of the service).
    pub fn on_reset(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.reset = Some(Box::new(f));
        self
    }

    pub fn files(mut self, files: Arc<dyn PlatformFiles>) -> Self {
        self.files = Some(files);
        self
    }

    pub fn unsigned(mut self, f: impl Fn(&Parts, &Bytes) -> Option<Principal> + Send + Sync + 'static) -> Self {
        self.unsigned = Some(Box::new(f));
        self
    }
}

#[derive(Default)]
pub struct Services {
    pub list: Vec<Registration>,
}

impl Services {
    pub fn register(&mut self, r: Registration) {
        self.list.push(r);
    }

    /// The services served (registrations that only add platform files are not services).
    pub fn names(&self) -> Vec<&'static str> {
        self.list
            .iter()
            .filter(|r| r.api.is_some() || r.door.is_some() || r.fallback.is_some())
            .map(|r| r.name)
            .collect()
    }
}
