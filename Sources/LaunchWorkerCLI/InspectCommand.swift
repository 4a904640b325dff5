import ArgumentParser
import BundleArchive
import Foundation
import LaunchBundle
import Logging
import PythonBridge
import WorkerCore

/// `launch-worker inspect`: what a bundle is, without loading it.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a bundle's metadata, kind, sizes and checksum status, without loading it.",
        discussion: """
            Also compares the Python that made the bundle with the one this worker embeds: \
            cloudpickle bundles load only on the same Python minor version.

            Exit status: 0 when the checksums match (or none are recorded), 1 on a mismatch, 2 \
            when the bundle cannot be read.
            """
    )

    @Argument(
        help: ArgumentHelp(
            "A bundle folder, a .bundle file, or a file://, http:// or https:// URL of one.", valueName: "bundle"))
    var bundle: String

    @Flag(help: "Print one JSON object.")
    var json = false

    @OptionGroup var source: BundleSourceOptions

    @Option(help: "Log level on stderr.")
    var logLevel: Logger.Level = .warning

    func run() async throws {
        let resolver = source.makeResolver(logger: stderrLogger(level: logLevel))
        let inspection: BundleInspection
        do {
            let (file, downloaded) = try await resolver.fetch(bundle)
            defer { if downloaded { try? FileManager.default.removeItem(at: file) } }
            inspection = try BundleInspector.inspect(
                file, bundle: bundle, limits: UnpackLimits(maxUnpackedSize: source.maxUnpackedSize.bytes))
        } catch let error as ArchiveError {
            throw CLIError(message: error.description)
        } catch let error as BundleError {
            throw CLIError(message: error.description)
        }
        let warning = PythonVersionMismatch(inspection.metadata)?.warning
        if json {
            printJSON(inspection, warning: warning)
        } else {
            printText(inspection, warning: warning)
        }
        if let warning { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        if case .mismatch = inspection.checksums { throw ExitCode.failure }
    }

    private func kind(_ metadata: BundleMetadata) -> String {
        switch metadata.packagingType {
        case .cloudpickle: "cloudpickle (the pickled predict function, class, instance or load_predict_fn dict)"
        case .zip:
            """
            zip code bundle (load_model_fn \(metadata.loadModelFnModulePath ?? "?"), \
            load_predict_fn \(metadata.loadPredictFnModulePath ?? "?"))
            """
        }
    }

    private func status(_ status: BundleInspection.ChecksumStatus) -> String {
        switch status {
        case .verified(let source): "verified (\(source))"
        case .notRecorded: "not recorded"
        case .mismatch(let reason): "MISMATCH: \(reason)"
        }
    }

    private func printText(_ inspection: BundleInspection, warning: String?) {
        let metadata = inspection.metadata
        var lines: [(String, String)] = [
            ("bundle", "\(bundle) (\(inspection.form))"),
            ("name", metadata.bundleName),
            ("kind", kind(metadata)),
            ("app_config", metadata.appConfigJSON ?? "none"),
            ("requirements", metadata.requirements.isEmpty ? "none" : metadata.requirements.joined(separator: ", ")),
            ("artifact", "\(ByteCount.format(inspection.artifactSize)), sha256 \(inspection.artifactSHA256 ?? "?")"),
            ("bundle.json", ByteCount.format(inspection.metadataSize)),
        ]
        if let size = inspection.compressedSize { lines.append(("file size", ByteCount.format(size))) }
        lines.append(("checksums", status(inspection.checksums)))
        if let key = inspection.cacheKey { lines.append(("cache key", key)) }
        let made = metadata.pythonVersion ?? "not recorded"
        lines.append(
            (
                "python",
                "made by \(made), embedded \(PythonEnvironment.linkedVersion)\(warning == nil ? "" : " (MISMATCH)")"
            ))
        for (label, value) in lines {
            print("\(label):".padding(toLength: 14, withPad: " ", startingAt: 0) + value)
        }
    }

    private func printJSON(_ inspection: BundleInspection, warning: String?) {
        let metadata = inspection.metadata
        var checksums: [String: Any] = [:]
        switch inspection.checksums {
        case .verified(let source): checksums = ["status": "verified", "source": source]
        case .notRecorded: checksums = ["status": "not_recorded"]
        case .mismatch(let reason): checksums = ["status": "mismatch", "reason": reason]
        }
        let object: [String: Any] = [
            "bundle": bundle, "form": inspection.form, "bundle_name": metadata.bundleName,
            "packaging_type": metadata.packagingType.rawValue,
            "load_predict_fn_module_path": metadata.loadPredictFnModulePath ?? NSNull(),
            "load_model_fn_module_path": metadata.loadModelFnModulePath ?? NSNull(),
            "app_config": metadata.appConfigJSON.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
                ?? NSNull(),
            "requirements": metadata.requirements,
            "artifact_size": inspection.artifactSize, "artifact_sha256": inspection.artifactSHA256 ?? NSNull(),
            "metadata_size": inspection.metadataSize, "file_size": inspection.compressedSize ?? NSNull(),
            "checksums": checksums, "cache_key": inspection.cacheKey ?? NSNull(),
            "python_version": metadata.pythonVersion ?? NSNull(), "embedded_python": PythonEnvironment.linkedVersion,
            "warnings": warning.map { [$0] } ?? [],
        ]
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
