import NIOSSL

extension RedisClientError {
    /// The error for a connection that failed with `error`: a TLS failure explained in words an
    /// operator can act on (``tls(_:)``), anything else a lost connection.
    init(channelError error: any Error) {
        if let reason = Self.tlsReason(error) {
            self = .tls(reason)
        } else {
            self = .connection("the connection to Redis failed: \(error)")
        }
    }

    /// Why TLS failed and what to change, or nil when `error` is not a TLS error.
    private static func tlsReason(_ error: any Error) -> String? {
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "the server's certificate does not name this host (no subjectAltName matches): connect by a "
                + "name or address it holds, or add ?ssl_cert_reqs=optional to skip the host name check"
        }
        // A handshake that failed, or an alert the server sent after it (TLS 1.3 servers refuse a
        // client certificate only then); an unclean close of a working connection is no TLS failure.
        let text: String
        switch error {
        case NIOSSLError.handshakeFailed(let cause): text = "\(cause)"
        case let error as BoringSSLError: text = "\(error)"
        default: return nil
        }
        // BoringSSL's reasons read `...:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at file:line`.
        let reasons = text.components(separatedBy: "OPENSSL_internal:").dropFirst().map {
            String($0.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
        }
        if reasons.contains("CERTIFICATE_VERIFY_FAILED") {
            return "certificate verification failed (CERTIFICATE_VERIFY_FAILED): the server's certificate is not "
                + "signed by a CA this worker trusts, or has expired; set ?ssl_ca_certs=PATH to the PEM bundle "
                + "of the CA that signed it (or ?ssl_cert_reqs=none to skip verification)"
        }
        if let alert = reasons.first(where: { $0.contains("_ALERT_") }) {
            let clientCertificate = ["CERTIFICATE", "UNKNOWN_CA"].contains { alert.contains($0) }
            return "the server ended the TLS handshake (\(alert))"
                + (clientCertificate
                    ? ": it wants a client certificate it trusts; add ?ssl_certfile=PATH&ssl_keyfile=PATH" : "")
        }
        if reasons.contains("WRONG_VERSION_NUMBER") || text.contains("EOF during handshake") {
            return "the server does not speak TLS on this port (\(reasons.first ?? "it closed the connection")): "
                + "use redis:// for a plain port, or the port of the server's --tls-port"
        }
        return "TLS failed: \(reasons.isEmpty ? text : reasons.joined(separator: ", "))"
    }
}
