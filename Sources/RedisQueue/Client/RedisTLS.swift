/// How a `rediss://` connection is secured, read from the URL's query with the names and
/// values that redis-py, kombu and Celery users already write in their broker URLs.
public struct RedisTLS: Sendable, Equatable {
    /// How much of the server's certificate is checked (`ssl_cert_reqs`).
    public enum Verification: String, Sendable {
        /// The chain must lead to a trusted CA and name the host (`required`, `CERT_REQUIRED`).
        case required
        /// The chain must lead to a trusted CA; the host name is not checked (`optional`,
        /// `CERT_OPTIONAL`).
        case optional
        /// Nothing is checked (`none`, `CERT_NONE`): the traffic is encrypted, but anyone between
        /// the worker and the broker can read and change it.
        case none
    }

    /// What is checked: `required` unless the URL says otherwise.
    public var verification: Verification
    /// A PEM bundle of the CAs to trust instead of the system's (`ssl_ca_certs`).
    public var caFile: String?
    /// The client certificate for mutual TLS, PEM (`ssl_certfile`); it may hold the key too.
    public var certificateFile: String?
    /// The client certificate's private key, PEM (`ssl_keyfile`).
    public var keyFile: String?
    /// The passphrase of an encrypted private key (`ssl_password`); never shown.
    public var keyPassword: String?

    /// Makes settings from their parts.
    public init(
        verification: Verification = .required, caFile: String? = nil, certificateFile: String? = nil,
        keyFile: String? = nil, keyPassword: String? = nil
    ) {
        self.verification = verification
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.keyPassword = keyPassword
    }

    /// The query parameters read here.
    static let parameters: Set<String> = [
        "ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_password", "ssl_check_hostname",
    ]

    /// What `ssl_check_hostname` said, if the URL has it; ``settle()`` folds it into
    /// ``verification``.
    private var checkHostname: Bool?

    /// Sets the parameter `name` (one of ``parameters``) to `value`.
    ///
    /// - Returns: what is wrong with the value, or nil.
    mutating func set(_ name: String, to value: String) -> String? {
        guard !value.isEmpty else { return "?\(name)= needs a value" }
        switch name {
        case "ssl_cert_reqs":
            let word = value.lowercased()
            guard
                let verification = Verification(
                    rawValue: word.hasPrefix("cert_") ? String(word.dropFirst("cert_".count)) : word)
            else {
                return "?ssl_cert_reqs=\(value) must be required, optional or none (or CERT_REQUIRED, ...)"
            }
            self.verification = verification
        case "ssl_check_hostname":
            // redis-py's reading of a boolean parameter: these words are false, the rest true.
            checkHostname = !["0", "f", "false", "n", "no"].contains(value.lowercased())
        case "ssl_password": keyPassword = value
        case "ssl_ca_certs": caFile = value
        case "ssl_certfile": certificateFile = value
        default: keyFile = value
        }
        return nil
    }

    /// Applies `ssl_check_hostname` once every parameter is read: `false` with a required
    /// certificate checks the chain only (as `ssl_cert_reqs=optional` does); `true` needs a
    /// required certificate, as in Python's `ssl`, where a host name is checked only on a
    /// verified certificate.
    ///
    /// - Returns: what is wrong with the combination, or nil.
    mutating func settle() -> String? {
        switch (checkHostname, verification) {
        case (false?, .required): verification = .optional
        case (true?, .optional), (true?, .none):
            return
                "?ssl_check_hostname=true needs ?ssl_cert_reqs=required: a host name is checked only on a verified certificate"
        default: break
        }
        checkHostname = nil
        return nil
    }

    /// The non-default parameters, as a URL query shows them (files are not secret).
    var query: String {
        [
            verification == .required ? nil : "ssl_cert_reqs=\(verification.rawValue)",
            caFile.map { "ssl_ca_certs=\($0)" }, certificateFile.map { "ssl_certfile=\($0)" },
            keyFile.map { "ssl_keyfile=\($0)" }, keyPassword.map { _ in "ssl_password=***" },
        ].compactMap { $0 }.map { "&\($0)" }.joined()
    }
}
