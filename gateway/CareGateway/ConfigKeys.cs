using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using CareGateway.Cli;

namespace CareGateway;

/// <summary>
/// Finds every key of a configuration that is not a setting (a misspelling, usually), by walking the JSON beside the
/// configuration's own serialization metadata: each is named with its JSON path and the closest settings.
/// </summary>
internal static class ConfigKeys
{
    private static readonly JsonDocumentOptions Document = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>
    /// The unknown keys of <paramref name="json"/> as errors, and the JSON without them (so the rest can still be
    /// checked and every problem reported at once); null when the text is not JSON at all.
    /// </summary>
    public static (List<string> Errors, string? Known) Check(string json)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: Document);
        }
        catch (JsonException)
        {
            return ([], null); // the deserializer reports the syntax error with its line
        }

        var errors = new List<string>();
        if (root is JsonObject obj)
        {
            Walk(obj, ConfigJsonContext.Default.GatewayConfig, "$", errors);
        }

        return (errors, errors.Count == 0 ? json : root!.ToJsonString());
    }

    private static void Walk(JsonNode? node, JsonTypeInfo? info, string path, List<string> errors)
    {
        if (info is null)
        {
            return; // a type the walk does not know (a custom converter): the deserializer checks it
        }

        switch (node)
        {
            case JsonObject obj when info.Kind == JsonTypeInfoKind.Object:
                var known = info.Properties.ToDictionary(p => p.Name, StringComparer.Ordinal);
                foreach (var (key, value) in obj.ToList())
                {
                    var at = $"{path}.{key}";
                    if (!known.TryGetValue(key, out var property))
                    {
                        var section = path == "$" ? "the configuration" : $"'{path}'";
                        errors.Add($"{at}: '{key}' is not a setting of {section}.{GatewayCommandLine.DidYouMean(key, known.Keys)} (docs/configuration.md lists them)");
                        obj.Remove(key);
                        continue;
                    }

                    Walk(value, Info(property.PropertyType), at, errors);
                }

                break;
            case JsonObject obj when info.Kind == JsonTypeInfoKind.Dictionary && info.ElementType is { } valueType:
                foreach (var (key, value) in obj)
                {
                    Walk(value, Info(valueType), $"{path}.{key}", errors);
                }

                break;
            case JsonArray array when info.Kind == JsonTypeInfoKind.Enumerable && info.ElementType is { } elementType:
                for (var i = 0; i < array.Count; i++)
                {
                    Walk(array[i], Info(elementType), $"{path}[{i}]", errors);
                }

                break;
        }
    }

    private static JsonTypeInfo? Info(Type type) => ConfigJsonContext.Default.GetTypeInfo(type);
}
