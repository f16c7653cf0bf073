using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;

namespace CareGateway;

/// <summary>
/// The JSON Schema of the configuration file, generated from the configuration types themselves so it cannot drift
/// from what the loader accepts. Published as docs/schemas/gateway-config.schema.json; a test keeps that file equal to
/// this output (regenerate with <c>care-gateway config-schema &gt; docs/schemas/gateway-config.schema.json</c>).
/// </summary>
public static class ConfigSchema
{
    public static string Generate()
    {
        var schema = JsonSchemaExporter.GetJsonSchemaAsNode(
            ConfigJsonContext.Default.Options,
            typeof(GatewayConfig),
            new JsonSchemaExporterOptions { TreatNullObliviousAsNonNullable = true });
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = "https://care-gateway.example/schemas/v1/gateway-config.schema.json",
            ["title"] = "Care gateway configuration (docs/configuration.md)",
        };
        foreach (var (name, value) in schema.AsObject().ToList())
        {
            schema.AsObject().Remove(name);
            root[name] = value;
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
