package ecr

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/riseplatform/rise/sdk"
)

func (r *Registry) scanOnPush() bool { return r.ScanOnPush == nil || *r.ScanOnPush }

func (r *Registry) tags(project string) []types.Tag {
	m := map[string]string{"managed-by": "rise", "rise-project": project}
	for k, v := range r.Tags {
		m[k] = v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

// EnsureRepository creates the project's repository (tags, scan-on-push,
// tag mutability) or, when it exists, brings those settings back in line.
func (r *Registry) EnsureRepository(ctx context.Context, project string) error {
	if err := checkProject(project); err != nil {
		return err
	}
	c := r.ecrClient(r.cfg)
	name := r.Repository(project)
	in := &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(name),
		Tags:                       r.tags(project),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: r.scanOnPush()},
	}
	if r.ImageTagMutability != "" {
		in.ImageTagMutability = types.ImageTagMutability(r.ImageTagMutability)
	}
	_, err := c.CreateRepository(ctx, in)
	var exists *types.RepositoryAlreadyExistsException
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &exists):
		return fmt.Errorf("ecr: create repository %s: %w", name, err)
	}
	// It exists: repair drift.
	desc, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	if err != nil || len(desc.Repositories) == 0 {
		return fmt.Errorf("ecr: describe repository %s: %w", name, err)
	}
	repo := desc.Repositories[0]
	if repo.ImageScanningConfiguration == nil || repo.ImageScanningConfiguration.ScanOnPush != r.scanOnPush() {
		if _, err := c.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{
			RepositoryName: aws.String(name), ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: r.scanOnPush()},
		}); err != nil {
			return fmt.Errorf("ecr: set scan-on-push on %s: %w", name, err)
		}
	}
	if r.ImageTagMutability != "" && string(repo.ImageTagMutability) != r.ImageTagMutability {
		if _, err := c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{
			RepositoryName: aws.String(name), ImageTagMutability: types.ImageTagMutability(r.ImageTagMutability),
		}); err != nil {
			return fmt.Errorf("ecr: set tag mutability on %s: %w", name, err)
		}
	}
	if _, err := c.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: repo.RepositoryArn, Tags: r.tags(project)}); err != nil {
		return fmt.Errorf("ecr: tag repository %s: %w", name, err)
	}
	return nil
}

// DeleteRepository deletes the project's repository with its images. A
// missing repository is not an error.
func (r *Registry) DeleteRepository(ctx context.Context, project string) error {
	if err := checkProject(project); err != nil {
		return err
	}
	name := r.Repository(project)
	_, err := r.ecrClient(r.cfg).DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(name), Force: true})
	var missing *types.RepositoryNotFoundException
	if err != nil && !errors.As(err, &missing) {
		return fmt.Errorf("ecr: delete repository %s: %w", name, err)
	}
	return nil
}

// Resolve returns the digest of an image in a project repository: ref is
// "<project>:<tag>" or a full reference (tag or digest) in this account's
// registry under the repository prefix. Anything else is not found, without
// an AWS call. (Which project may resolve which repository is the server's
// call.)
func (r *Registry) Resolve(ctx context.Context, ref string) (*sdk.Artifact, error) {
	host := r.host()
	full := ref
	if !strings.Contains(ref, "/") {
		full = host + "/" + r.RepositoryPrefix + ref
	}
	parsed, err := name.ParseReference(full)
	if err != nil {
		return nil, sdk.Permanent(fmt.Errorf("ecr: invalid image reference %q: %w", ref, err))
	}
	repo := parsed.Context().RepositoryStr()
	if !strings.EqualFold(parsed.Context().RegistryStr(), host) || !strings.HasPrefix(repo, r.RepositoryPrefix) {
		return nil, sdk.Permanent(fmt.Errorf("ecr: %q is not in this registry's %s/%s*: %w", ref, host, r.RepositoryPrefix, sdk.ErrNotFound))
	}
	art := &sdk.Artifact{Repository: host + "/" + repo}
	var id types.ImageIdentifier
	switch p := parsed.(type) {
	case name.Digest:
		id.ImageDigest = aws.String(p.DigestStr())
	case name.Tag:
		id.ImageTag, art.Tag = aws.String(p.TagStr()), p.TagStr()
	}
	out, err := r.ecrClient(r.cfg).DescribeImages(ctx, &ecr.DescribeImagesInput{
		RepositoryName: aws.String(repo), ImageIds: []types.ImageIdentifier{id},
	})
	var nf *types.ImageNotFoundException
	var rnf *types.RepositoryNotFoundException
	if errors.As(err, &nf) || errors.As(err, &rnf) {
		return nil, sdk.Permanent(fmt.Errorf("ecr: %s: %w", ref, sdk.ErrNotFound))
	}
	if err != nil {
		return nil, fmt.Errorf("ecr: resolve %s: %w", ref, err)
	}
	if len(out.ImageDetails) == 0 {
		return nil, sdk.Permanent(fmt.Errorf("ecr: %s: %w", ref, sdk.ErrNotFound))
	}
	art.Digest = aws.ToString(out.ImageDetails[0].ImageDigest)
	return art, nil
}

// host is the account's registry host.
func (r *Registry) host() string {
	return fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com", r.AccountID, r.Region)
}
