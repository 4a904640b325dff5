import Foundation

/// Paths in the launch-worker checkout the tests run from.
public enum Checkout {
    /// The checkout's root folder.
    public static let root: URL = URL(filePath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The worker's Python environment, made by scripts/setup.
    public static let venv = root.appending(path: ".venv")

    /// The environment's Python, for building fixtures and reading pickles back.
    public static let python = venv.appending(path: "bin/python")

    /// The built `launch-worker` executable, next to the test bundle.
    public static var executable: URL {
        let testBinary =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return URL(filePath: testBinary).deletingLastPathComponent().appending(path: "launch-worker")
    }

    /// A new empty folder under the system's temporary folder.
    public static func temporaryFolder(_ purpose: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory
            .appending(path: "launch-worker-tests-\(purpose)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}
