import Foundation
import Testing

@testable import RedisQueue

/// `rediss://` URLs with redis-py's `ssl_*` parameters, and the files they name.
@Suite struct RedisAddressTests {
    @Test func readsTLSParametersAsRedisPyWritesThem() throws {
        let full = try RedisAddress(
            url: "rediss://user:p%40ss@broker:6380/3?queue=q&ssl_cert_reqs=CERT_OPTIONAL&ssl_ca_certs=/etc/ca%20b.pem"
                + "&ssl_certfile=/c.pem&ssl_keyfile=/k.pem")
        #expect(
            full
                == RedisAddress(
                    host: "broker", port: 6380, database: 3, username: "user", password: "p@ss", queue: "q",
                    tls: RedisTLS(
                        verification: .optional, caFile: "/etc/ca b.pem", certificateFile: "/c.pem", keyFile: "/k.pem"))
        )
        #expect(
            full.description
                == "rediss://user@broker:6380/3?queue=q&ssl_cert_reqs=optional&ssl_ca_certs=/etc/ca b.pem"
                + "&ssl_certfile=/c.pem&ssl_keyfile=/k.pem")
        #expect(try RedisAddress(url: "rediss://h").tls == RedisTLS(verification: .required))
        #expect(try RedisAddress(url: "redis://h").tls == nil)
        #expect(try RedisAddress(url: "rediss://:pw@h/0").description == "rediss://:***@h:6379/0?queue=celery")
        for (spelling, verification) in [
            ("required", RedisTLS.Verification.required), ("CERT_REQUIRED", .required), ("optional", .optional),
            ("none", .none), ("CERT_NONE", .none),
        ] {
            #expect(try RedisAddress(url: "rediss://h?ssl_cert_reqs=\(spelling)").tls?.verification == verification)
        }
        // ssl_check_hostname, read as redis-py reads it, in either order with ssl_cert_reqs.
        for (query, verification) in [
            ("ssl_check_hostname=false", RedisTLS.Verification.optional),
            ("ssl_check_hostname=False&ssl_cert_reqs=required", .optional),
            ("ssl_cert_reqs=CERT_REQUIRED&ssl_check_hostname=0", .optional),
            ("ssl_check_hostname=true", .required), ("ssl_check_hostname=false&ssl_cert_reqs=none", .none),
        ] {
            #expect(try RedisAddress(url: "rediss://h?\(query)").tls?.verification == verification, "\(query)")
        }
    }

    @Test func refusesTLSParametersThatCannotWork() {
        let cases = [
            "redis://h/0?ssl_cert_reqs=none": "is a TLS setting: write rediss://",
            "rediss://h/0?ssl_cert_reqs=maybe": "must be required, optional or none",
            "rediss://h/0?ssl_ca_certs=": "?ssl_ca_certs= needs a value",
            "rediss://h/0?ssl_keyfile=/k.pem": "?ssl_keyfile= needs ?ssl_certfile=",
            "rediss://h/0?ssl_password=secret": "?ssl_password= is the passphrase of ?ssl_keyfile=",
            "rediss://h/0?ssl_verify=false": "unknown parameter ?ssl_verify=",
            "redis://h/0?ssl_check_hostname=false": "is a TLS setting: write rediss://",
            "rediss://h/0?ssl_cert_reqs=none&ssl_check_hostname=true": "?ssl_check_hostname=true needs",
            "rediss://h/0?ssl_check_hostname=yes&ssl_cert_reqs=optional": "?ssl_check_hostname=true needs",
            "rediss:///0": "has no host",
        ]
        for (url, problem) in cases {
            let error = #expect(throws: RedisAddressError.self, "\(url)") { try RedisAddress(url: url) }
            #expect(error?.description.contains(problem) == true, "\(String(describing: error))")
        }
    }

    @Test func errorsQuoteTheURLWithItsPasswordsHidden() {
        let cases = [
            "redis://:secret@h/x": "redis://:***@h/x: the path must be a database number",
            "redis://user:secret@h:1/0?queue=": "redis://user:***@h:1/0?queue=: ?queue= needs a queue name",
            "rediss://h/0?queue=q&ssl_password=secret": "rediss://h/0?queue=q&ssl_password=***: ?ssl_password= is",
            "rediss://:p@ss:secret@h/0?ssl_password=secret&ssl_cert_reqs=maybe": "rediss://:***@h/0?ssl_password=***&",
            "redis://:secret@[::1/0": "redis://:***@[::1/0 is not a URL",
        ]
        for (url, shown) in cases {
            let error = #expect(throws: RedisAddressError.self, "\(url)") { try RedisAddress(url: url) }
            #expect(error?.description.hasPrefix(shown) == true, "\(String(describing: error))")
            #expect(error?.description.contains("secret") == false, "\(String(describing: error))")
        }
    }

    @Test func filesThatCannotBeUsedAreNamedBeforeAnythingConnects() throws {
        let folder = try FileManager.default.url(
            for: .itemReplacementDirectory, in: .userDomainMask, appropriateFor: FileManager.default.temporaryDirectory,
            create: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let junk = folder.appending(path: "junk.pem").path
        try Data("not a certificate\n".utf8).write(to: URL(filePath: junk))
        let missing = folder.appending(path: "missing.pem").path
        let cases = [
            "ssl_ca_certs=\(missing)": "ssl_ca_certs=\(missing) does not exist",
            "ssl_ca_certs=\(junk)": "ssl_ca_certs=\(junk) holds no PEM certificate",
            "ssl_ca_certs=\(folder.path)": "ssl_ca_certs=\(folder.path) cannot be read",
            "ssl_certfile=\(junk)": "ssl_certfile=\(junk) holds no PEM certificate",
        ]
        for (query, problem) in cases {
            let address = try RedisAddress(url: "rediss://127.0.0.1:1/0?\(query)")
            let error = #expect(throws: RedisAddressError.self, "\(query)") { try RedisEndpoint(address) }
            #expect(error?.description.contains(problem) == true, "\(String(describing: error))")
        }
        #expect(
            try RedisEndpoint(RedisAddress(url: "rediss://localhost?ssl_cert_reqs=none")).tls?.serverName == "localhost"
        )
        #expect(try RedisEndpoint(RedisAddress(url: "rediss://127.0.0.1")).tls?.serverName == nil)
        #expect(try RedisEndpoint(RedisAddress(url: "redis://127.0.0.1")).tls == nil)
    }
}
