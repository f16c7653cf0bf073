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
    public static (List<string> Errors, string? Known) Check(string json) =>
        Check(json, ConfigJsonContext.Default.GatewayConfig, "$", "docs/configuration.md");

    /// <summary>As <see cref="Check(string)"/> for one section read alone (a care profile file: <c>$.careProfile</c>), its paths under <paramref name="root"/>.</summary>
    public static (List<string> Errors, string? Known) Check(string json, JsonTypeInfo section, string root, string docs)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: Document);
        }
        catch (JsonException)
        {
            return ([], null); // the deserializer reports the syntax error with its line
        }

        var errors = new List<string>();
        if (node is JsonObject obj)
        {
            Walk(obj, section, root, errors, KeyLines(json, root), docs);
        }

        return (errors, errors.Count == 0 ? json : node!.ToJsonString());
    }

    /// <summary>The line (1-based) of the key at <paramref name="path"/> (from <paramref name="root"/>), when the text has it.</summary>
    public static int? LineOf(string json, string path, string root = "$")
    {
        try
        {
            return KeyLines(json, root).TryGetValue(path, out var line) ? line : null;
        }
        catch (JsonException)
        {
            return null; // not JSON up to there: the reader's own line is the one to give
        }
    }

    private static void Walk(JsonNode? node, JsonTypeInfo? info, string path, List<string> errors, Dictionary<string, int> lines, string docs)
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
                        var line = lines.TryGetValue(at, out var l) ? $" (line {l})" : string.Empty;
                        errors.Add($"{at}{line}: '{key}' is not a setting of {section}.{GatewayCommandLine.DidYouMean(key, known.Keys)} ({docs} lists them)");
                        obj.Remove(key);
                        continue;
                    }

                    Walk(value, Info(property.PropertyType), at, errors, lines, docs);
                }

                break;
            case JsonObject obj when info.Kind == JsonTypeInfoKind.Dictionary && info.ElementType is { } valueType:
                foreach (var (key, value) in obj)
                {
                    Walk(value, Info(valueType), $"{path}.{key}", errors, lines, docs);
                }

                break;
            case JsonArray array when info.Kind == JsonTypeInfoKind.Enumerable && info.ElementType is { } elementType:
                for (var i = 0; i < array.Count; i++)
                {
                    Walk(array[i], Info(elementType), $"{path}[{i}]", errors, lines, docs);
                }

                break;
        }
    }

    /// <summary>The line (1-based) of each key, by its JSON path.</summary>
    private static Dictionary<string, int> KeyLines(string json, string root)
    {
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var bytes = System.Text.Encoding.UTF8.GetBytes(json);
        var newlines = new List<int>();
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                newlines.Add(i);
            }
        }

        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var stack = new Stack<(string Path, int Index)>(); // Index -1: an object; else the next array element
        var pending = root;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    pending = $"{stack.Peek().Path}.{reader.GetString()}";
                    var at = newlines.BinarySearch((int)reader.TokenStartIndex);
                    lines.TryAdd(pending, (at < 0 ? ~at : at) + 1);
                    continue;
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    stack.Push((ValuePath(stack, pending), reader.TokenType == JsonTokenType.StartArray ? 0 : -1));
                    continue;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    stack.Pop();
                    Advance(stack);
                    continue;
                default:
                    Advance(stack);
                    continue;
            }
        }

        return lines;

        static string ValuePath(Stack<(string Path, int Index)> stack, string pending) =>
            stack.Count > 0 && stack.Peek().Index >= 0 ? $"{stack.Peek().Path}[{stack.Peek().Index}]" : pending;

        static void Advance(Stack<(string Path, int Index)> stack)
        {
            if (stack.Count > 0 && stack.Peek().Index >= 0)
            {
                var (path, index) = stack.Pop();
                stack.Push((path, index + 1));
            }
        }
    }

    private static JsonTypeInfo? Info(Type type) => ConfigJsonContext.Default.GetTypeInfo(type);
}
