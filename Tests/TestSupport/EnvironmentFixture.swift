import Foundation

/// A folder for bundle-environment tests: a wheelhouse of tiny wheels made at test time
/// (Tests/Fixtures/make_wheel.py), a bundle cache, a uv cache, and the variables that make uv
/// and pip install from the wheelhouse and .venv/wheelhouse (the runtime's needs) only, with no
/// index: no test reaches a registry.
public struct EnvironmentFixture: Sendable {
    /// The test's folder.
    public let root: URL

    /// Makes the folders for a test named by `purpose`.
    public init(_ purpose: String) throws {
        root = try Checkout.temporaryFolder("env-\(purpose)")
        try FileManager.default.createDirectory(at: wheelhouse, withIntermediateDirectories: true)
    }

    /// Where the test's wheels are.
    public var wheelhouse: URL { root.appending(path: "wheels") }
    /// The bundle cache (`--cache-dir`).
    public var cache: URL { root.appending(path: "cache") }
    /// The environments' folder in it.
    public var environments: URL { cache.appending(path: "environments") }

    /// Writes a wheel of a module `name` (`greet(who)` says its name and version) into the
    /// wheelhouse, its module ending with `extraSource`.
    public func makeWheel(_ name: String, _ version: String, extraSource: String = "") async throws {
        let script = Checkout.root.appending(path: "Tests/Fixtures/make_wheel.py").path
        let outcome = try await runProcess(Checkout.python, [script, wheelhouse.path, name, version, extraSource])
        guard outcome.status == 0 else { throw FixtureError("make_wheel.py failed: \(outcome.stderr)") }
    }

    /// Writes a bundle whose predict imports `module`, with `requirements` and `envParams`
    /// (JSON); returns its folder.
    public func makeBundle(
        _ name: String, module: String = "tinypkg", requirements: [String],
        envParams: String = #"{"framework_type": "pytorch"}"#
    ) async throws -> String {
        let folder = root.appending(path: "bundles/\(name)").path
        let script = Checkout.root.appending(path: "Tests/Fixtures/build_env_bundle.py").path
        let outcome = try await runProcess(Checkout.python, [script, folder, module, envParams] + requirements)
        guard outcome.status == 0 else { throw FixtureError("build_env_bundle.py failed: \(outcome.stderr)") }
        return folder
    }

    /// This process's variables without any index setting, plus ones that install from
    /// `findLinks` (default: the test's wheelhouse and .venv/wheelhouse) with no index.
    public func environment(findLinks: [String]? = nil) -> [String: String] {
        var variables = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("PIP_") && !$0.key.hasPrefix("UV_") && $0.key != "PYTHONPATH"
        }
        let links = findLinks ?? [wheelhouse.path, Checkout.venv.appending(path: "wheelhouse").path]
        variables["PIP_NO_INDEX"] = "1"
        variables["PIP_FIND_LINKS"] = links.joined(separator: " ")
        variables["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        // Built per test: wheels of one name and version differ between tests.
        variables["UV_CACHE_DIR"] = root.appending(path: "uv-cache").path
        variables["PIP_NO_CACHE_DIR"] = "1"
        // pip's configuration files may name other wheel folders or indexes.
        variables["PIP_CONFIG_FILE"] = "/dev/null"
        return variables
    }

    /// The names in the environments' folder: keys, `<key>.log`, `.tmp-...` leftovers.
    public var environmentNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: environments.path)) ?? []).sorted()
    }

    /// The environments that count as ready (folders named by a 64-hex-digit key).
    public var readyEnvironments: [String] {
        environmentNames.filter { $0.count == 64 && $0.allSatisfy(\.isHexDigit) }
    }
}
