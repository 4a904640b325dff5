import Foundation
import RedisQueue

#if canImport(Glibc)
    import Glibc
#endif

/// `--broker redis://...`: the Redis server async endpoints queue on, as llm-engine's gateway
/// does, so workers on other machines, Swift or Python Celery, can serve the same endpoint.
///
/// Workers get the URL without its password and without its TLS client key's passphrase
/// (`ssl_password=`), which anyone on the machine could read in their command lines (`ps`,
/// `/proc/PID/cmdline`): each goes to an owner-only file under the state folder, which workers
/// read with `--redis-password-file` and `--redis-ssl-password-file`.
struct RedisBroker: Sendable {
    /// The broker URL as given.
    let url: String
    /// The file holding the URL's password, for workers; nil when the URL has none.
    let passwordFile: URL?
    /// The file holding the URL's `ssl_password=`, for workers; nil when the URL has none.
    let keyPassphraseFile: URL?
    /// The gateway's connection.
    let client: RedisClient

    /// Checks the URL and makes the (lazily connecting) client; writes the password and the TLS
    /// client key's passphrase, if any, into `passwordFile` and `keyPassphraseFile` (owner-only).
    /// `password` and `keyPassphrase` (read from files by the command line) come before the
    /// URL's user-info and `ssl_password=`.
    ///
    /// - Throws: ``RedisAddressError`` naming what is wrong with the URL or its TLS files, or
    ///   ``GatewayRefusal`` when a file cannot be written.
    init(
        url: String, password: String? = nil, keyPassphrase: String? = nil, passwordFile: URL, keyPassphraseFile: URL
    ) throws {
        self.url = url
        let components = URLComponents(string: url)
        let password = password ?? components?.password
        let passphrase = keyPassphrase ?? components?.queryItems?.first(where: { $0.name == "ssl_password" })?.value
        var address = try RedisAddress(url: url)
        if let password { address.password = password }
        if let passphrase, address.tls != nil { address.tls?.keyPassword = passphrase }
        client = RedisClient(endpoint: try RedisEndpoint(address))
        if let password {
            try Self.writeOwnerOnly(Data(password.utf8), to: passwordFile)
            self.passwordFile = passwordFile
        } else {
            self.passwordFile = nil
        }
        if let passphrase {
            try Self.writeOwnerOnly(Data(passphrase.utf8), to: keyPassphraseFile)
            self.keyPassphraseFile = keyPassphraseFile
        } else {
            self.keyPassphraseFile = nil
        }
    }

    /// A worker's arguments for the endpoint's queue `name`: `--queue` with the broker URL
    /// (without its password and `ssl_password=`) and the queue, and `--redis-password-file` and
    /// `--redis-ssl-password-file` when there are such files.
    func workerArguments(queue name: String) -> [String] {
        guard var components = URLComponents(string: url) else { return ["--queue", url] }
        var items = (components.queryItems ?? []).filter { $0.name != "queue" && $0.name != "ssl_password" }
        items.append(URLQueryItem(name: "queue", value: name))
        components.queryItems = items
        components.password = nil
        if components.user?.isEmpty == true { components.user = nil }
        return ["--queue", components.string ?? url]
            + (passwordFile.map { ["--redis-password-file", $0.path] } ?? [])
            + (keyPassphraseFile.map { ["--redis-ssl-password-file", $0.path] } ?? [])
    }

    /// Writes `data` to `file`, readable and writable by this user only from its creation.
    private static func writeOwnerOnly(_ data: Data, to file: URL) throws {
        unlink(file.path)
        let descriptor = open(file.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw GatewayRefusal(
                .internalServerError, "cannot write the broker's password file \(file.path): errno \(errno)")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try handle.write(contentsOf: data)
    }
}
