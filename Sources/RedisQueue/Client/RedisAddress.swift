import Foundation
import URLRedaction

/// Where the Redis server is and how to log in: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?queue=NAME]`,
/// or `rediss://` for TLS, with redis-py's `ssl_*` query parameters (``RedisTLS``).
public struct RedisAddress: Sendable, Equatable, CustomStringConvertible {
    /// The host name or address.
    public var host: String
    /// The TCP port (6379 unless given).
    public var port: Int
    /// The database number (`SELECT`), 0 unless given.
    public var database: Int
    /// The ACL user name, when given.
    public var username: String?
    /// The password, when given (in the URL or a file).
    public var password: String?
    /// The Celery queue named by `?queue=` (`celery`, Celery's default, when absent).
    public var queue: String
    /// How the connection is secured (`rediss://`), or nil for plain TCP (`redis://`).
    public var tls: RedisTLS?

    /// Makes an address from its parts.
    public init(
        host: String, port: Int = 6379, database: Int = 0, username: String? = nil, password: String? = nil,
        queue: String = "celery", tls: RedisTLS? = nil
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
        self.queue = queue
        self.tls = tls
    }

    /// Parses a `redis://` or `rediss://` URL.
    ///
    /// - Throws: ``RedisAddressError`` naming what is wrong.
    public init(url text: String) throws(RedisAddressError) {
        let shown = URLSecrets.hidden(in: text)
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw RedisAddressError("\(shown) is not a URL: expected redis://HOST:PORT/DB?queue=NAME")
        }
        guard scheme == "redis" || scheme == "rediss" else {
            throw RedisAddressError("\(shown): the scheme must be redis:// or rediss:// (TLS), not \(scheme)://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw RedisAddressError("\(shown) has no host: expected redis://HOST:PORT/DB")
        }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = components.port ?? 6379
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        if path.isEmpty {
            database = 0
        } else {
            guard let number = Int(path), number >= 0 else {
                throw RedisAddressError("\(shown): the path must be a database number, like /0, not /\(path)")
            }
            database = number
        }
        let user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding }
        username = user?.isEmpty == false ? user : nil
        password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        queue = "celery"
        tls = scheme == "rediss" ? RedisTLS() : nil
        for item in components.queryItems ?? [] {
            if item.name == "queue" {
                guard let name = item.value, !name.isEmpty else {
                    throw RedisAddressError("\(shown): ?queue= needs a queue name")
                }
                queue = name
            } else if RedisTLS.parameters.contains(item.name) {
                guard tls != nil else {
                    throw RedisAddressError("\(shown): ?\(item.name)= is a TLS setting: write rediss:// for TLS")
                }
                if let problem = tls?.set(item.name, to: item.value ?? "") {
                    throw RedisAddressError("\(shown): \(problem)")
                }
            } else {
                throw RedisAddressError(
                    "\(shown): unknown parameter ?\(item.name)=; the parameters are queue, "
                        + "and with rediss:// \(RedisTLS.parameters.sorted().joined(separator: ", "))")
            }
        }
        if let problem = tls?.settle() { throw RedisAddressError("\(shown): \(problem)") }
        if let tls, tls.keyPassword != nil, tls.certificateFile == nil {
            throw RedisAddressError("\(shown): ?ssl_password= is the passphrase of ?ssl_keyfile= (or ?ssl_certfile=)")
        }
        if let tls, tls.keyFile != nil, tls.certificateFile == nil {
            throw RedisAddressError("\(shown): ?ssl_keyfile= needs ?ssl_certfile=, the certificate it is the key of")
        }
    }

    /// The URL without the password.
    public var description: String {
        let user = username.map { "\($0)@" } ?? (password == nil ? "" : ":***@")
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let scheme = tls == nil ? "redis" : "rediss"
        return "\(scheme)://\(user)\(shownHost):\(port)/\(database)?queue=\(queue)\(tls?.query ?? "")"
    }
}

/// A `--queue redis://...` (or `rediss://`, or one of its TLS files) that cannot be used, and why.
public struct RedisAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong and what to write instead.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}
