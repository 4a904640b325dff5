import ArgumentParser
import Foundation
import LaunchBundle
import Logging
import PythonBridge
import WorkerCore

/// A bundle loaded into the embedded interpreter for one command, with the folder its zip
/// code was unpacked into (removed by ``close()``).
struct BundleSession {
    let interpreter: PythonInterpreter
    let bundle: LoadedBundle
    private let codeFolder: URL?

    /// How commands describe their bundle argument.
    static let argumentHelp = ArgumentHelp("The bundle folder, holding bundle.json and artifact.")

    /// Opens the bundle `reference` names, starts Python, loads the bundle and logs how long
    /// it took.
    ///
    /// - Throws: ``CLIError`` (exit 2) for a bundle that cannot be read, a Python that cannot
    ///   start, or a bundle whose loading failed (with the Python traceback).
    static func open(_ reference: String?, runtime: RuntimeOptions, logger: Logger) async throws(CLIError) -> BundleSession {
        guard let path = reference else { throw CLIError(message: "name a bundle folder") }
        let directory: BundleDirectory
        do {
            directory = try BundleDirectory(path: path)
        } catch {
            throw CLIError(message: error.description)
        }
        let interpreter = try await runtime.startInterpreter()
        let codeFolder = try makeCodeFolder(for: directory)
        do {
            let bundle = try await LoadedBundle.load(directory, codeFolder: codeFolder, interpreter: interpreter)
            logger.info(
                "bundle loaded",
                metadata: [
                    "bundle": "\(directory.metadata.bundleName)",
                    "packaging_type": "\(directory.metadata.packagingType.rawValue)",
                    "load_ms": "\(bundle.loadDuration.milliseconds)",
                ])
            return BundleSession(interpreter: interpreter, bundle: bundle, codeFolder: codeFolder)
        } catch {
            codeFolder.map { try? FileManager.default.removeItem(at: $0) }
            throw CLIError(message: error.description)
        }
    }

    /// Removes the unpacked code, if any.
    func close() {
        codeFolder.map { try? FileManager.default.removeItem(at: $0) }
    }

    /// A fresh folder for a zip bundle's code.
    private static func makeCodeFolder(for bundle: BundleDirectory) throws(CLIError) -> URL? {
        guard bundle.metadata.packagingType == .zip else { return nil }
        let folder = FileManager.default.temporaryDirectory.appending(path: "launch-worker-code-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw CLIError(message: "cannot create a folder for the bundle's code in \(folder.path): \(error)")
        }
        return folder
    }
}
