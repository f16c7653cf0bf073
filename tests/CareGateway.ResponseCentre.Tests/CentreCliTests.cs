using CareGateway.ResponseCentre.Service.Web;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>The centre's command line speaks to people: help without starting, an unknown role named.</summary>
public class CentreCliTests
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public void Help_is_recognised_so_the_service_is_not_started(string arg)
    {
        Assert.True(CentreHelp.IsHelp([arg]));
        Assert.Contains("add-user", CentreHelp.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Running_the_service_and_add_user_are_not_help()
    {
        Assert.False(CentreHelp.IsHelp([]));
        Assert.False(CentreHelp.IsHelp(["add-user", "kari"]));
        Assert.False(CentreHelp.IsHelp(["--Centre:Console:Url=http://127.0.0.1:5080"]));
    }

    [Fact]
    public async Task An_unknown_role_is_named_and_exits_2_before_a_password_is_read()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await UserCommand.RunAsync(["kari", "--role", "superuser"], new StringReader("a-long-password\n"), stdout, stderr);

        Assert.Equal(2, code);
        Assert.Contains("'superuser'", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("operator", stderr.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("System.", stderr.ToString(), StringComparison.Ordinal);
    }
}
