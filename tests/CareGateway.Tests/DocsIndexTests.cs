namespace CareGateway.Tests;

/// <summary>docs/README.md is the way into the docs: a document it does not link is one a newcomer never finds.</summary>
public class DocsIndexTests
{
    [Fact]
    public void The_docs_index_links_every_document_in_docs()
    {
        var index = RepoFiles.Read("docs", "README.md");
        var docs = Directory.GetFiles(RepoFiles.PathOf("docs"), "*.md")
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => name != "README.md")
            .ToList();

        Assert.NotEmpty(docs);
        var missing = docs.Where(name => !index.Contains($"]({name})", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, "docs/README.md does not link: " + string.Join(", ", missing));
    }
}
