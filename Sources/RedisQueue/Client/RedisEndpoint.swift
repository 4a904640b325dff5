import Foundation
import NIOCore
import NIOSSL

/// A Redis server to connect to: its address and, for `rediss://`, the TLS context made once
/// from the address's files, so that a missing or bad file is an error before anything connects
/// and every reconnect reuses the same context.
public struct RedisEndpoint: Sendable, CustomStringConvertible {
    /// The broker, its login and its queue.
    public let address: RedisAddress
    /// The TLS context and the name sent for SNI, when the address says `rediss://`.
    let tls: (context: NIOSSLContext, serverName: String?)?

    /// Reads the address's TLS files (if any) into a TLS context.
    ///
    /// - Throws: ``RedisAddressError`` naming the parameter and the file that cannot be read, holds
    ///   no PEM certificate or key, or whose key does not match its certificate.
    public init(_ address: RedisAddress) throws(RedisAddressError) {
        self.address = address
        guard let settings = address.tls else {
            tls = nil
            return
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch settings.verification {
        case .required: configuration.certificateVerification = .fullVerification
        case .optional: configuration.certificateVerification = .noHostnameVerification
        case .none: configuration.certificateVerification = .none
        }
        if let caFile = settings.caFile {
            configuration.trustRoots = .certificates(try Self.certificates("ssl_ca_certs", caFile))
        }
        if let certificateFile = settings.certificateFile {
            configuration.certificateChain = try Self.certificates("ssl_certfile", certificateFile).map {
                .certificate($0)
            }
            // Without ssl_keyfile, the key is read from the certificate's file, as Python's ssl does.
            let (keyParameter, keyFile) =
                settings.keyFile.map { ("ssl_keyfile", $0) } ?? ("ssl_certfile", certificateFile)
            let key = try Self.read(keyParameter, keyFile)
            configuration.privateKey = .privateKey(
                try Self.privateKey(key, password: settings.keyPassword, parameter: keyParameter, file: keyFile))
        }
        do {
            let context = try NIOSSLContext(configuration: configuration)
            // SNI carries host names only; an address is checked against the certificate's IP entries.
            let isAddress = (try? SocketAddress(ipAddress: address.host, port: 0)) != nil
            tls = (context, isAddress ? nil : address.host)
        } catch {
            guard let certificateFile = settings.certificateFile else {
                throw RedisAddressError("the TLS settings are refused: \(error)")
            }
            throw RedisAddressError(
                "ssl_keyfile=\(settings.keyFile ?? certificateFile) is not the key of ssl_certfile=\(certificateFile) "
                    + "(\(error))")
        }
    }

    /// The address, without its password.
    public var description: String { address.description }

    /// The PEM private key in `bytes`, decrypted with `password` when it is encrypted. Without a
    /// password, an encrypted key fails at once (BoringSSL would otherwise ask on stdin).
    private static func privateKey(
        _ bytes: [UInt8], password: String?, parameter: String, file: String
    ) throws(RedisAddressError) -> NIOSSLPrivateKey {
        let passphrase = Array((password ?? "").utf8)
        do {
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem) { setter in setter(passphrase) }
        } catch {
            let encrypted = String(decoding: bytes, as: UTF8.self).contains("ENCRYPTED")
            switch (encrypted, password) {
            case (true, nil):
                throw RedisAddressError(
                    "\(parameter)=\(file) holds an encrypted key: give its passphrase with ?ssl_password= or "
                        + "--redis-ssl-password-file")
            case (true, _?):
                throw RedisAddressError(
                    "\(parameter)=\(file) cannot be decrypted with its passphrase (?ssl_password= or "
                        + "--redis-ssl-password-file): a wrong one?")
            case (false, _):
                throw RedisAddressError("\(parameter)=\(file) holds no PEM private key (-----BEGIN PRIVATE KEY-----)")
            }
        }
    }

    private static func certificates(_ parameter: String, _ path: String) throws(RedisAddressError)
        -> [NIOSSLCertificate]
    {
        let bytes = try read(parameter, path)
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(bytes), !certificates.isEmpty else {
            throw RedisAddressError("\(parameter)=\(path) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        return certificates
    }

    private static func read(_ parameter: String, _ path: String) throws(RedisAddressError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let why = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist"
            throw RedisAddressError("\(parameter)=\(path) \(why)")
        }
        return Array(data)
    }
}
