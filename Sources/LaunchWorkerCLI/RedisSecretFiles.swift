import ArgumentParser
import RedisQueue

/// The files that hold a Redis URL's secrets, so that they stay off the command line (where `ps`
/// shows them to every user of the machine): `serve`'s and `batch`'s `--queue`, the gateway's
/// `--broker`.
struct RedisSecretFiles: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A file holding the Redis password (instead of the URL's user-info, which ps shows).", valueName: "FILE"))
    var redisPasswordFile: String?

    @Option(
        help: ArgumentHelp(
            "A file holding the passphrase of the URL's ?ssl_keyfile= (instead of ?ssl_password= in the URL).",
            valueName: "FILE"))
    var redisSslPasswordFile: String?

    /// Whether either file is given.
    var given: Bool { redisPasswordFile != nil || redisSslPasswordFile != nil }

    /// The password in `--redis-password-file`, if given.
    func password() throws(CLIError) -> String? {
        try redisPasswordFile.map { file throws(CLIError) in try Self.secret(file, option: "--redis-password-file") }
    }

    /// The passphrase in `--redis-ssl-password-file`, if given.
    func keyPassphrase() throws(CLIError) -> String? {
        try redisSslPasswordFile.map { file throws(CLIError) in
            try Self.secret(file, option: "--redis-ssl-password-file")
        }
    }

    /// The broker at `address`, with the password and its TLS client key's passphrase from the
    /// files (when given), and its TLS files read; errors name the URL as `option` (`--queue`, or
    /// the gateway's `--broker`).
    func endpoint(_ address: RedisAddress, option: String = "--queue") throws(CLIError) -> RedisEndpoint {
        var address = address
        if let password = try password() { address.password = password }
        if redisSslPasswordFile != nil {
            guard address.tls != nil else {
                throw CLIError(
                    message: "--redis-ssl-password-file is the passphrase of a rediss:// URL's ?ssl_keyfile=, and "
                        + "\(option) is redis://")
            }
            address.tls?.keyPassword = try keyPassphrase()
        }
        do {
            return try RedisEndpoint(address)
        } catch {
            throw CLIError(message: "\(option) \(address): \(error)")
        }
    }

    /// The secret in `file` (its first line), which `option` named.
    private static func secret(_ file: String, option: String) throws(CLIError) -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw CLIError(message: "cannot read \(option) \(file)")
        }
        return text.trimmingCharacters(in: .newlines)
    }
}
