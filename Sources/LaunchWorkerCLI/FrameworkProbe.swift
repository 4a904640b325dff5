import BundleEnvironment
import PythonBridge

/// What `doctor --bundle` says about the framework a bundle's `env_params` name: its version
/// and whether it sees CUDA, asked in the embedded interpreter, in the bundle's environment.
enum FrameworkProbe {
    /// Lines describing `framework` as the interpreter holding `gil` sees it, and whether it imports.
    static func report(_ framework: Framework, _ gil: GIL) -> (lines: [String], imports: Bool) {
        let module: PythonObject
        do {
            module = try gil.importModule(framework.module)
        } catch {
            return (["  MISSING  \(framework.module) (env_params.framework_type \(framework.type)): \(error)"], false)
        }
        let version = (try? module.attribute("__version__").description) ?? "(no version)"
        var lines = ["  ok       \(framework.module) \(version) (env_params.framework_type \(framework.type))"]
        do {
            switch framework.module {
            case "torch":
                let cuda = try module.attribute("cuda")
                let available = try cuda.attribute("is_available").call()
                let count = try cuda.attribute("device_count").call()
                lines.append("  CUDA     available: \(available), devices: \(count) (torch.cuda)")
            default:
                let devices = try module.attribute("config").attribute("list_physical_devices").call(
                    try gil.string("GPU"))
                let count = try gil.importModule("builtins").attribute("len").call(devices)
                lines.append("  CUDA     GPUs: \(count) (tf.config.list_physical_devices)")
            }
        } catch {
            lines.append("  CUDA     cannot ask \(framework.module): \(error)")
        }
        return (lines, true)
    }
}
