//! What the HTTP data planes (API Gateway, its v2, load balancers) answer, and what a function
//! invoked for them answered: shared so the binary hands them between services unchanged.

/// An HTTP response of a data plane.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        HttpAnswer { status, headers, body }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Replaces every value of a header with one.
    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }
}

/// A function's answer to an invocation made for a data plane.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub payload: Vec<u8>,
    /// `Unhandled` / `Handled` when the function failed.
    pub function_error: Option<String>,
}
