//! JSON Web Tokens signed with RSA (RS256/RS384/RS512), as OpenID Connect providers issue them:
//! decoding and verification against a JWKS. Used where AWS trusts such tokens: STS
//! AssumeRoleWithWebIdentity and API Gateway's JWT authorizers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// A decoded (not yet verified) JWT.
#[derive(Debug, Clone)]
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
    signed: String,
    signature: Vec<u8>,
}

impl Jwt {
    /// The token's three parts, decoded; `None` when it is not a JWT.
    pub fn decode(token: &str) -> Option<Jwt> {
        let mut parts = token.split('.');
        let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        let json_part = |p: &str| -> Option<Value> {
            let bytes = URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok()?;
            serde_json::from_slice(&bytes).ok()
        };
        let (header, claims) = (json_part(h)?, json_part(c)?);
        let signature = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()?;
        Some(Jwt { header, claims, signed: format!("{h}.{c}"), signature })
    }

    /// Whether the signature verifies with one of the JWKS's RSA keys (the one the token's `kid`
    /// names, or any when it names none); `Err` names an algorithm that is not supported.
    pub fn verify(&self, jwks: &Value) -> Result<bool, String> {
        use rsa::pkcs1v15::Pkcs1v15Sign;
        use sha2::Digest;
        let alg = self.header["alg"].as_str().unwrap_or_default();
        let data = self.signed.as_bytes();
        let (scheme, digest) = match alg {
            "RS256" => (Pkcs1v15Sign::new::<sha2::Sha256>(), sha2::Sha256::digest(data).to_vec()),
            "RS384" => (Pkcs1v15Sign::new::<sha2::Sha384>(), sha2::Sha384::digest(data).to_vec()),
            "RS512" => (Pkcs1v15Sign::new::<sha2::Sha512>(), sha2::Sha512::digest(data).to_vec()),
            _ => return Err(format!("Unsupported token signing algorithm: {alg}")),
        };
        let kid = self.header["kid"].as_str();
        let keys = jwks["keys"].as_array().map(Vec::as_slice).unwrap_or_default();
        for k in keys.iter().filter(|k| k["kty"] == "RSA" && kid.is_none_or(|kid| k["kid"] == kid)) {
            let part = |name: &str| k[name].as_str().and_then(|v| URL_SAFE_NO_PAD.decode(v.trim_end_matches('=')).ok());
            let (Some(n), Some(e)) = (part("n"), part("e")) else { continue };
            let key = rsa::RsaPublicKey::new(rsa::BigUint::from_bytes_be(&n), rsa::BigUint::from_bytes_be(&e));
            if let Ok(key) = key
                && key.verify(scheme.clone(), &digest, &self.signature).is_ok()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The `aud` claim as a list (a string or an array).
    pub fn audiences(&self) -> Vec<String> {
        match &self.claims["aud"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        let part = |v: &str| URL_SAFE_NO_PAD.encode(v);
        let token = format!("{}.{}.{}", part(r#"{"alg":"HS256"}"#), part(r#"{"aud":["a","b"]}"#), part("sig"));
        let jwt = Jwt::decode(&token).unwrap();
        assert_eq!(jwt.audiences(), vec!["a", "b"]);
        assert!(jwt.verify(&serde_json::json!({"keys": []})).is_err(), "HS256 is not supported");
        assert!(Jwt::decode("a.b").is_none());
        assert!(Jwt::decode("not.a.jwt").is_none());
    }
}
