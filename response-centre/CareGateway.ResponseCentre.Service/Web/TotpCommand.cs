using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// <c>response-centre enrol-totp NAME [--remove]</c>: gives the user a new TOTP secret and prints it once, as the
/// <c>otpauth://</c> address an authenticator app reads and in Base32 for typing in; from then on that user's login
/// asks for the code. <c>--remove</c> clears it (the user logs in with the password alone, unless
/// <c>Centre:Web:RequireSecondFactor</c> is set). Enrolling again replaces the secret: the old app entry stops working.
/// </summary>
public static class TotpCommand
{
    public const string RemoveFlag = "--remove";

    public const string Usage = "usage: response-centre enrol-totp NAME [--remove]";

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (CentreHelp.IsHelp(args))
        {
            await stdout.WriteLineAsync(Usage);
            return 0;
        }

        var options = CommandOptions.Parse(args, valued: [], flags: [RemoveFlag]);
        if (string.IsNullOrWhiteSpace(options.Name) || options.Error is not null)
        {
            await stderr.WriteLineAsync(options.Error is { } error ? $"enrol-totp: {error}" : Usage);
            return 2;
        }

        var store = CommandOptions.OpenStore(options.ConfigArgs);
        try
        {
            await store.MigrateAsync(CancellationToken.None);
            var user = await store.FindUserAsync(options.Name, CancellationToken.None);
            if (user is null)
            {
                await stderr.WriteLineAsync($"enrol-totp: there is no user '{DateRange.Shorten(options.Name)}'; add one first with add-user");
                return 2;
            }

            if (options.Has(RemoveFlag))
            {
                await store.SaveUserAsync(user with { TotpSecret = null, TotpLastStep = 0 }, CancellationToken.None);
                await AuditTrail.SaveAsync(store, AuditTrail.CommandLine("enrol-totp --remove", user.UserName, TimeProvider.System.GetUtcNow()), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
                await stdout.WriteLineAsync($"enrol-totp: {user.UserName} has no second factor any more; the password alone logs in (unless Centre:Web:RequireSecondFactor is set)");
                return 0;
            }

            var (_, uri, secret) = await EnrolAsync(store, user, CancellationToken.None);
            await AuditTrail.SaveAsync(store, AuditTrail.CommandLine("enrol-totp", user.UserName, TimeProvider.System.GetUtcNow()), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            await stdout.WriteLineAsync(user.TotpSecret is null
                ? $"enrol-totp: {user.UserName} now needs a one-time code after the password. Add this to the user's authenticator app (shown once):"
                : $"enrol-totp: {user.UserName} has a NEW secret; the earlier one no longer works. Add this to the user's authenticator app (shown once):");
            await stdout.WriteLineAsync(uri);
            await stdout.WriteLineAsync($"secret (Base32, for typing in): {secret}");
            return 0;
        }
        finally
        {
            if (store is IAsyncDisposable d)
            {
                await d.DisposeAsync();
            }
        }
    }

    /// <summary>Stores a fresh secret for <paramref name="user"/> (and forgets the last step used); gives the user as saved, the address and the secret.</summary>
    public static async Task<(CentreUser User, string Uri, string Secret)> EnrolAsync(ICentreStore store, CentreUser user, CancellationToken ct)
    {
        var secret = SecondFactor.NewSecret();
        var saved = user with { TotpSecret = secret, TotpLastStep = 0 };
        await store.SaveUserAsync(saved, ct);
        return (saved, SecondFactor.EnrolmentUri(user.UserName, secret), secret);
    }
}
