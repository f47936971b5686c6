//! The sockets of WebSocket APIs: the handshake's answer and the frames of an accepted
//! connection. What the frames mean (routes, integrations, @connections) is API Gateway v2's
//! (`stratus_apigatewayv2::websocket`); here each message read is handed to it, each message
//! it queues is written, and the connection ends when the client closes it, the server does
//! (DeleteConnection, a reset), it is idle for 10 minutes or open for 2 hours.

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use sha1::{Digest, Sha1};
use stratus_apigatewayv2::websocket::{IDLE_TIMEOUT, MAX_DURATION, MAX_FRAME, MAX_MESSAGE};
use stratus_apigatewayv2::{ApiGatewayV2, Outgoing, Session};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig, frame::coding::CloseCode};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Whether a request asks for a WebSocket (RFC 6455 §4.2.1): GET, `Upgrade: websocket`,
/// `Connection: Upgrade`, a key, version 13.
pub fn is_handshake(parts: &http::request::Parts) -> bool {
    let has = |name: &str, token: &str| {
        parts
            .headers
            .get_all(name)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))))
    };
    parts.method == http::Method::GET && has("upgrade", "websocket") && has("connection", "upgrade")
}

fn config() -> WebSocketConfig {
    // Small buffers: most connections are idle most of the time.
    WebSocketConfig::default()
        .read_buffer_size(4 << 10)
        .write_buffer_size(0)
        .max_frame_size(Some(MAX_FRAME))
        .max_message_size(Some(MAX_MESSAGE))
}

/// Pumps one accepted connection until it ends, then tells API Gateway v2 how it ended.
pub async fn run<S>(io: S, session: Session, apis: ApiGatewayV2)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config())).await;
    let id = session.connection_id;
    let mut outgoing = session.outgoing;
    let idle = tokio::time::sleep(IDLE_TIMEOUT);
    let deadline = tokio::time::sleep(MAX_DURATION);
    tokio::pin!(idle, deadline);
    let close = |code: u16, reason: &str| {
        Message::Close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.to_string().into() }))
    };
    let (code, reason): (u16, String) = loop {
        tokio::select! {
            frame = ws.next() => {
                idle.as_mut().reset(tokio::time::Instant::now() + IDLE_TIMEOUT);
                match frame {
                    Some(Ok(Message::Text(t))) => {
                        let (apis, id) = (apis.clone(), id.clone());
                        tokio::spawn(async move { apis.ws_message(&id, t.as_bytes(), false).await });
                    }
                    Some(Ok(Message::Binary(b))) => {
                        let (apis, id) = (apis.clone(), id.clone());
                        tokio::spawn(async move { apis.ws_message(&id, &b, true).await });
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(frame))) => {
                        // The close is answered as the stream is drained below.
                        break match frame {
                            Some(f) => (u16::from(f.code), f.reason.to_string()),
                            None => (1005, "Client-side close frame status not set".to_string()),
                        };
                    }
                    Some(Err(WsError::Capacity(_))) => {
                        let _ = ws.send(close(1009, "Message too big")).await;
                        break (1009, "Message too big".to_string());
                    }
                    Some(Err(_)) | None => break (1006, "Going away".to_string()),
                }
            }
            out = outgoing.recv() => {
                let sent = match out {
                    Some(Outgoing::Text(t)) => ws.send(Message::text(t)).await,
                    Some(Outgoing::Binary(b)) => ws.send(Message::binary(b)).await,
                    Some(Outgoing::Close(code, reason)) => {
                        let _ = ws.send(close(code, &reason)).await;
                        break (code, reason);
                    }
                    None => {
                        let _ = ws.send(close(1001, "Going away")).await;
                        break (1001, "Going away".to_string());
                    }
                };
                if sent.is_err() {
                    break (1006, "Going away".to_string());
                }
            }
            _ = &mut idle => {
                let _ = ws.send(close(1001, "Going away")).await;
                break (1001, "Going away".to_string());
            }
            _ = &mut deadline => {
                let _ = ws.send(close(1001, "Going away")).await;
                break (1001, "Going away".to_string());
            }
        }
    };
    // Forgotten first, so that @connections answers 410 from now on; then `$disconnect`.
    let apis_done = apis.clone();
    let disconnect = tokio::spawn(async move { apis_done.ws_disconnect(&id, code, &reason).await });
    // Finish the closing handshake (the peer's close frame, or our answer to it), briefly.
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drain).await;
    let _ = disconnect.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_keys() {
        // RFC 6455 §1.3's example.
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }
}
