import Foundation
import LaunchBundle
import Testing

@Suite("bundle.json")
struct BundleMetadataTests {
    private func parse(_ json: String) throws(BundleError) -> BundleMetadata {
        try BundleMetadata(json: Data(json.utf8), bundle: "b")
    }

    @Test("the Launch client's POST body is a valid bundle.json; location is ignored")
    func clientPostBody() throws {
        let metadata = try parse(
            """
            {"packaging_type": "cloudpickle", "bundle_name": "clf", "location": "s3://x/y",
             "bundle_metadata": {"load_predict_fn": "def f(): ..."}, "requirements": ["numpy==1.26"],
             "env_params": {"framework_type": "pytorch"}, "app_config": {"k": 1.5}}
            """)
        #expect(metadata.packagingType == .cloudpickle)
        #expect(metadata.bundleName == "clf")
        #expect(metadata.requirements == ["numpy==1.26"])
        #expect(metadata.appConfigJSON == #"{"k":1.5}"#)
        #expect(metadata.loadModelFnModulePath == nil)
    }

    @Test("optional fields of ours are read")
    func ourFields() throws {
        let metadata = try parse(
            """
            {"packaging_type": "cloudpickle", "bundle_name": "b", "app_config": null,
             "format_version": 1, "python_version": "3.11.2", "artifact_sha256": "ab"}
            """)
        #expect(metadata.appConfigJSON == nil)
        #expect(metadata.formatVersion == 1)
        #expect(metadata.pythonVersion == "3.11.2")
        #expect(metadata.artifactSHA256 == "ab")
    }

    @Test("a zip bundle carries its two module paths")
    func zipModulePaths() throws {
        let metadata = try parse(
            """
            {"packaging_type": "zip", "bundle_name": "z", "bundle_metadata":
             {"load_predict_fn_module_path": "app.p.lp", "load_model_fn_module_path": "app.m.lm"}}
            """)
        #expect(metadata.loadPredictFnModulePath == "app.p.lp")
        #expect(metadata.loadModelFnModulePath == "app.m.lm")
    }

    @Test(
        "a missing or wrong field is an error that names it",
        arguments: [
            (#"{"bundle_name": "b"}"#, "packaging_type", BundleError.Code.missingField),
            (#"{"packaging_type": "tar", "bundle_name": "b"}"#, "packaging_type", .invalidField),
            (#"{"packaging_type": "zip"}"#, "bundle_name", .missingField),
            (#"{"packaging_type": "zip", "bundle_name": 3}"#, "bundle_name", .invalidField),
            (#"{"packaging_type": "zip", "bundle_name": "b", "requirements": "numpy"}"#, "requirements", .invalidField),
            (#"{"packaging_type": "zip", "bundle_name": "b", "app_config": [1]}"#, "app_config", .invalidField),
            (#"{"packaging_type": "zip", "bundle_name": "b", "env_params": "pytorch"}"#, "env_params", .invalidField),
            (
                #"{"packaging_type": "zip", "bundle_name": "b"}"#, "bundle_metadata.load_predict_fn_module_path",
                .missingField
            ),
            (
                #"{"packaging_type": "zip", "bundle_name": "b", "bundle_metadata": {"load_predict_fn_module_path": "a.b"}}"#,
                "bundle_metadata.load_model_fn_module_path", .missingField
            ),
        ])
    func fieldErrors(json: String, field: String, code: BundleError.Code) throws {
        let error = #expect(throws: BundleError.self) { try parse(json) }
        #expect(error?.field == field)
        #expect(error?.code == code)
        #expect(error?.description.contains("'\(field)'") == true)
    }

    @Test("bundle.json that is not a JSON object is refused", arguments: ["[1, 2]", "{not json", ""])
    func notAnObject(json: String) throws {
        let error = #expect(throws: BundleError.self) { try parse(json) }
        #expect(error?.code == .invalidMetadata)
    }
}
