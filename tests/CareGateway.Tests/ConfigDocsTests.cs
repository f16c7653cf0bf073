using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CareGateway.Tests;

/// <summary>
/// The docs are the contract: a setting missing from docs/configuration.md does not exist for an integrator. Every
/// key of the configuration schema (generated from the code, docs/schemas/gateway-config.schema.json) is described
/// under its section's heading in docs/configuration.md (top-level keys under "Top level", <c>broker.*</c> under
/// "### `broker`" ...), and the care profile's keys in docs/care-profile.md.
/// </summary>
public class ConfigDocsTests
{
    [Fact]
    public void Every_key_of_the_config_schema_is_described_under_its_sections_heading()
    {
        var schema = JsonNode.Parse(RepoFiles.Read("docs", "schemas", "gateway-config.schema.json"))!;
        var configuration = RepoFiles.Read("docs", "configuration.md");
        var careProfile = RepoFiles.Read("docs", "care-profile.md");
        var leaves = new List<string[]>();
        Walk(schema, [], leaves);
        Assert.True(leaves.Count > 50, $"only {leaves.Count} keys found in the schema: the walk is broken");

        var missing = new List<string>();
        foreach (var path in leaves)
        {
            var (text, where) = path[0] == "careProfile" ? (careProfile, "docs/care-profile.md")
                : path.Length == 1 ? (Section(configuration, "### Top level"), "docs/configuration.md, Top level")
                : (Section(configuration, $"### `{path[0]}`"), $"docs/configuration.md, `{path[0]}`");
            // A table cell names the key by its path in the section, or its last part after a dot (`nightWindow.start`, `.end`).
            if (!Regex.IsMatch(text, "`[A-Za-z0-9.]*\\b" + Regex.Escape(path[^1]) + "`", RegexOptions.None, TimeSpan.FromSeconds(1)))
            {
                missing.Add($"{string.Join('.', path)} (in {where})");
            }
        }

        Assert.True(missing.Count == 0, "config keys with no description: " + string.Join("; ", missing));
    }

    [Fact]
    public void The_check_finds_a_key_that_is_not_described()
    {
        var text = Section("## Settings\n### `broker`\n| `host` | x |\n### `zigbee`\n| `port` | y |\n", "### `broker`");
        Assert.Contains("`host`", text, StringComparison.Ordinal);
        Assert.DoesNotContain("`port`", text, StringComparison.Ordinal);
    }

    /// <summary>The leaf keys (objects descend into their properties, arrays into their items).</summary>
    private static void Walk(JsonNode node, string[] path, List<string[]> leaves)
    {
        if (node["properties"] is null && node["items"] is JsonObject items)
        {
            node = items;
        }

        if (node["properties"] is not JsonObject properties)
        {
            if (path.Length > 0)
            {
                leaves.Add(path);
            }

            return;
        }

        foreach (var (name, child) in properties)
        {
            Walk(child!, [.. path, name], leaves);
        }
    }

    /// <summary>The text from a heading to the next heading of level 2 or 3 (empty when the heading is absent).</summary>
    private static string Section(string doc, string heading)
    {
        var start = doc.IndexOf(heading, StringComparison.Ordinal);
        if (start < 0)
        {
            return string.Empty;
        }

        var ends = new[] { doc.IndexOf("\n### ", start + 1, StringComparison.Ordinal), doc.IndexOf("\n## ", start + 1, StringComparison.Ordinal) }.Where(i => i > 0).ToList();
        return doc[start..(ends.Count > 0 ? ends.Min() : doc.Length)];
    }
}
