// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "launch-worker",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "launch-worker", targets: ["LaunchWorkerCLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: [
        // CPython's C API, found through pkg-config, with a shim for what Swift cannot import.
        .systemLibrary(
            name: "CPython",
            pkgConfig: "python3-embed",
            providers: [.apt(["libpython3-dev"])]
        ),
        // The only place with unsafe Python pointers and the GIL.
        .target(name: "PythonBridge", dependencies: ["CPython", "CLinux"]),
        // Bundle directories: bundle.json and the artifact. No Python here.
        .target(name: "LaunchBundle"),
        // URLs quoted in logs and errors with their passwords hidden.
        .target(name: "URLRedaction"),
        // libzstd's streaming API, found through pkg-config.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // .bundle files (zstd tar streams), safe unpacking, the content-addressed cache, downloads
        // (on AsyncHTTPClient: Foundation's URLSession would link libcurl into every process).
        .target(
            name: "BundleArchive",
            dependencies: [
                "CZstd", "CLinux", "LaunchBundle", "URLRedaction", "InputDownload",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Bundle environments: a bundle's requirements installed (uv, or venv and pip) into a
        // cached venv of the embedded Python, keyed by what it holds, with its creation log.
        .target(
            name: "BundleEnvironment",
            dependencies: ["BundleArchive", "URLRedaction", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // JSON checked, read and written as bytes on the paths every task takes.
        .target(name: "JSONBytes"),
        // Downloads of requests' http(s) url inputs: streamed, size-limited, timed, each hop's
        // addresses checked, on AsyncHTTPClient; and the words for a connection that fails and for
        // a duration, which bundle downloads share.
        .target(
            name: "InputDownload",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // Requests, results, running a loaded bundle on Python threads (`Execution/`), and the
        // serving loop over any task queue and any kind of slot (`Serving/`: slots, timeouts,
        // drain, readiness, metrics).
        .target(
            name: "WorkerCore",
            dependencies: [
                "PythonBridge", "CLinux", "LaunchBundle", "JSONBytes", "InputDownload", "URLRedaction",
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Linux system calls that Swift's Glibc module leaves out (syncfs, naming a thread).
        .systemLibrary(name: "CLinux"),
        // The durable file-spool queue: claims, leases, recovery, dead letters, group commit.
        .target(
            name: "SpoolQueue",
            dependencies: ["WorkerCore", "CLinux", .product(name: "Logging", package: "swift-log")]
        ),
        // The sync endpoint: Launch's HTTP routes on loopback or a Unix socket, sharing the slots;
        // under a process pool, on the listening socket the supervisor shares.
        .target(
            name: "HTTPEndpoint",
            dependencies: [
                "WorkerCore", "CLinux", "JSONBytes", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Celery's protocol on Redis, as kombu lays it out, over a small RESP client of ours on
        // SwiftNIO, with TLS (rediss://) from swift-nio-ssl.
        .target(
            name: "RedisQueue",
            dependencies: [
                "WorkerCore", "JSONBytes", "URLRedaction", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `launch-worker gateway`: the Launch REST API the scale-launch client speaks (bundles,
        // endpoints whose workers are child `serve` processes, sync tasks forwarded on the event
        // loop, async tasks), its state in SQLite.
        .target(
            name: "Gateway",
            dependencies: [
                "SpoolQueue", "RedisQueue", "WorkerCore", "HTTPEndpoint", "LaunchBundle", "BundleArchive", "CLinux",
                "URLRedaction",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `launch-worker batch`: inputs streamed from CSV (CSV.swift) or JSON Lines, the output
        // folder with its journal (resume, exactly one result per input), the run over the
        // worker's slots, progress and the summary.
        .target(
            name: "BatchJobs",
            dependencies: [
                "WorkerCore", "JSONBytes", .product(name: "CSV", package: "CSV.swift"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Log lines in swift-log's stream layout, the lines of threads logging at once written
        // together by a thread of its own.
        .target(name: "LogOutput", dependencies: ["CLinux", .product(name: "Logging", package: "swift-log")]),
        // A blocking HTTP/1.1 client connection, for `bench`'s callers and the tests.
        .target(name: "BlockingHTTP"),
        // The `launch-worker` command line.
        .executableTarget(
            name: "LaunchWorkerCLI",
            dependencies: [
                "WorkerCore", "LaunchBundle", "PythonBridge", "SpoolQueue", "HTTPEndpoint", "BundleArchive",
                "BundleEnvironment", "RedisQueue", "BlockingHTTP", "InputDownload", "CLinux", "BatchJobs",
                "Gateway", "LogOutput", "URLRedaction",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Shared by the tests: the checkout's paths, fixture bundles, one interpreter, subprocesses.
        .target(name: "TestSupport", dependencies: ["PythonBridge", "BlockingHTTP"], path: "Tests/TestSupport"),
        .testTarget(name: "JSONBytesTests", dependencies: ["JSONBytes"]),
        .testTarget(
            name: "LogOutputTests", dependencies: ["LogOutput", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "PythonBridgeTests", dependencies: ["PythonBridge", "TestSupport"]),
        .testTarget(name: "LaunchBundleTests", dependencies: ["LaunchBundle"]),
        .testTarget(name: "URLRedactionTests", dependencies: ["URLRedaction"]),
        .testTarget(name: "InputDownloadTests", dependencies: ["InputDownload", "TestSupport"]),
        .testTarget(name: "BundleEnvironmentTests", dependencies: ["BundleEnvironment", "TestSupport"]),
        .testTarget(name: "BundleArchiveTests", dependencies: ["BundleArchive", "LaunchBundle", "TestSupport"]),
        .testTarget(
            name: "WorkerCoreTests",
            dependencies: [
                "WorkerCore", "PythonBridge", "LaunchBundle", "JSONBytes", "TestSupport", "InputDownload",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "SpoolQueueTests",
            dependencies: ["SpoolQueue", "WorkerCore", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "RedisQueueTests",
            dependencies: [
                "RedisQueue", "WorkerCore", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "BatchJobsTests",
            dependencies: ["BatchJobs", "WorkerCore", "TestSupport", .product(name: "CSV", package: "CSV.swift")]),
        .testTarget(
            name: "HTTPEndpointTests", dependencies: ["HTTPEndpoint", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Runs the built `launch-worker` executable against real files.
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "SpoolQueue", "WorkerCore"]),
    ],
    swiftLanguageModes: [.v6]
)
