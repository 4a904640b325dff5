import ArgumentParser
import BundleArchive
import BundleEnvironment
import Foundation
import Logging

/// `launch-worker cache`: the content-addressed cache of unpacked bundles, and the bundles'
/// environments kept beside it.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "List, fill or prune the cache of unpacked bundles and of bundle environments.",
        discussion: """
            .bundle files and URLs are unpacked into the cache under the SHA-256 of their \
            SHA256SUMS, once: workers starting at the same time wait for one unpack and share it. \
            Unpacking goes into a temporary folder renamed into place when complete, so no worker \
            ever sees half a bundle. Bundle environments (launch-worker prepare) are kept beside them, \
            in environments/, by the same rules. A running worker holds its bundle and its environment, \
            and prune leaves them alone.
            """,
        subcommands: [List.self, Add.self, Prune.self]
    )

    /// `cache list`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the cached bundles, then the environments, most recently used first.")

        @OptionGroup var source: BundleSourceOptions

        @Flag(help: "Print JSON lines instead of a table.")
        var json = false

        func run() throws {
            let entries = try CacheCommand.listing { try source.cache.list() }
            let environments = try CacheCommand.listing { try source.environments.list() }
            for entry in entries {
                if json {
                    let object: [String: Any] = [
                        "kind": "bundle", "key": entry.key, "folder": entry.folder.path,
                        "bundle_name": entry.bundleName ?? NSNull(),
                        "packaging_type": entry.packagingType ?? NSNull(), "size": entry.size,
                        "last_used": ISO8601DateFormatter().string(from: entry.lastUsed), "in_use": entry.inUse,
                    ]
                    let data = try JSONSerialization.data(withJSONObject: object, options: .sortedKeys)
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(
                        [
                            String(entry.key.prefix(16)), entry.bundleName ?? "?", entry.packagingType ?? "?",
                            ByteCount.format(entry.size),
                            "last used \(ISO8601DateFormatter().string(from: entry.lastUsed))",
                            entry.inUse ? "in use" : "",
                        ].joined(separator: "  ").trimmingCharacters(in: .whitespaces))
                }
            }
            for environment in environments {
                let entry = environment.cached
                let lastUsed = ISO8601DateFormatter().string(from: entry.lastUsed)
                if json {
                    let object: [String: Any] = [
                        "kind": "environment", "key": entry.key, "folder": entry.folder.path,
                        "requirements": environment.requirements, "size": entry.size, "last_used": lastUsed,
                        "in_use": entry.inUse, "log": source.environments.logFile(for: entry.key).path,
                    ]
                    let data = try JSONSerialization.data(withJSONObject: object, options: .sortedKeys)
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print(
                        [
                            "environment", String(entry.key.prefix(16)),
                            environment.requirements.joined(separator: ", "), ByteCount.format(entry.size),
                            "last used \(lastUsed)", entry.inUse ? "in use" : "",
                        ].joined(separator: "  ").trimmingCharacters(in: .whitespaces))
                }
            }
            if entries.isEmpty && environments.isEmpty && !json {
                print("the cache at \(source.cache.root.path) is empty")
            }
        }
    }

    /// `cache add`.
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unpack bundles into the cache now (in an image build or an init container, say).",
            discussion: "Prints each bundle's folder in the cache.")

        @Argument(
            help: ArgumentHelp("A .bundle file, or a file://, http:// or https:// URL of one.", valueName: "bundle"))
        var bundles: [String]

        @OptionGroup var source: BundleSourceOptions

        @Option(help: "Log level on stderr.")
        var logLevel: Logger.Level = .info

        func run() async throws {
            let logger = stderrLogger(level: logLevel)
            for bundle in bundles {
                let resolved = try await BundleSession.resolve(bundle, options: source, logger: logger)
                guard let lease = resolved.lease else {
                    throw CLIError(message: "bundle \(bundle): is a folder, which is used in place: pack it first")
                }
                print(lease.folder.path)
            }
        }
    }

    /// `cache prune`.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Remove cached bundles and environments no running process holds, and leftovers of dead processes.")

        @OptionGroup var source: BundleSourceOptions

        @Option(
            help: ArgumentHelp(
                "Remove only bundles and environments not used for this long (90s, 30m, 12h, 7d; default: remove all not in use).",
                valueName: "duration"))
        var unusedFor: PruneAge?

        func run() throws {
            let cutoff = unusedFor.map { Date().addingTimeInterval(-$0.seconds) }
            let report = try CacheCommand.listing { try source.cache.prune(unusedSince: cutoff) }
            let environments = try CacheCommand.listing { try source.environments.prune(unusedSince: cutoff) }
            for entry in report.removed {
                print("removed \(entry.key) (\(entry.bundleName ?? "?"), \(ByteCount.format(entry.size)))")
            }
            for entry in report.inUse {
                print("kept \(entry.key) (\(entry.bundleName ?? "?")): in use")
            }
            for entry in environments.removed {
                print("removed environment \(entry.key) (\(ByteCount.format(entry.size)))")
            }
            for entry in environments.inUse {
                print("kept environment \(entry.key): in use")
            }
            let freed = report.removed.reduce(0) { $0 + $1.size }
            let freedByEnvironments = environments.removed.reduce(0) { $0 + $1.size }
            print(
                """
                removed \(report.removed.count) bundles (\(ByteCount.format(freed))), \
                \(environments.removed.count) environments (\(ByteCount.format(freedByEnvironments))) and \
                \(report.leftovers + environments.leftovers) leftovers
                """)
        }
    }

    /// Runs a cache operation, turning its errors into the CLI's.
    static func listing<Value>(_ body: () throws -> Value) throws -> Value {
        do {
            return try body()
        } catch let error as ArchiveError {
            throw CLIError(message: error.description)
        } catch let error as EnvironmentError {
            throw CLIError(message: error.description)
        }
    }
}

/// A duration on the command line: `90s`, `30m`, `12h`, `7d`.
struct PruneAge: ExpressibleByArgument {
    var seconds: TimeInterval

    init?(argument: String) {
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = argument.last.flatMap({ units[$0] }), let value = Double(argument.dropLast()), value >= 0
        else { return nil }
        seconds = value * unit
    }
}
