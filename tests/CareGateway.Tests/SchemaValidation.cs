using System.Collections.Concurrent;
using NJsonSchema;

namespace CareGateway.Tests;

/// <summary>Validates JSON against the published schemas under docs/schemas.</summary>
public static class SchemaValidation
{
    private static readonly ConcurrentDictionary<string, JsonSchema> Schemas = new();

    public static IReadOnlyList<string> Errors(string schemaName, string json)
    {
        var schema = Schemas.GetOrAdd(schemaName, name => JsonSchema.FromJsonAsync(RepoFiles.Read("docs", "schemas", name + ".schema.json")).GetAwaiter().GetResult());
        return [.. schema.Validate(json).Select(e => $"{e.Path}: {e.Kind}")];
    }

    public static void AssertValid(string schemaName, string json)
    {
        var errors = Errors(schemaName, json);
        Assert.True(errors.Count == 0, $"{schemaName} schema errors: {string.Join("; ", errors)}\n{json}");
    }
}
