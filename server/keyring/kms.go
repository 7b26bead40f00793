package keyring

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// KMS is a KEK in AWS KMS: data keys are wrapped with Encrypt and unwrapped
// with Decrypt under the key KeyID; the key itself never leaves KMS.
type KMS struct {
	client *kms.Client
	keyID  string
}

var _ KEK = (*KMS)(nil)

// kmsContext is the encryption context of every wrapped data key: KMS
// refuses to decrypt it under another context (and logs it in CloudTrail).
var kmsContext = map[string]string{"rise": "data-key"}

// KMSOptions locate KMS. Empty fields come from the AWS environment
// (AWS_REGION, credentials chain).
type KMSOptions struct {
	Region   string
	Endpoint string // override (VPC endpoints, tests)
}

// NewKMSClient returns a KMS client from the default AWS configuration.
func NewKMSClient(ctx context.Context, o KMSOptions) (*kms.Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return kms.NewFromConfig(cfg, func(ko *kms.Options) {
		if o.Endpoint != "" {
			ko.BaseEndpoint = aws.String(o.Endpoint)
		}
	}), nil
}

// NewKMS returns the KMS key keyID as a KEK.
func NewKMS(client *kms.Client, keyID string) *KMS { return &KMS{client: client, keyID: keyID} }

// ID implements KEK.
func (k *KMS) ID() string { return "aws-kms:" + k.keyID }

// Wrap implements KEK.
func (k *KMS) Wrap(ctx context.Context, dk []byte) ([]byte, error) {
	out, err := k.client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(k.keyID), Plaintext: dk,
		EncryptionContext: kmsContext, EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault})
	if err != nil {
		return nil, fmt.Errorf("kms encrypt: %w", err)
	}
	return out.CiphertextBlob, nil
}

// Unwrap implements KEK.
func (k *KMS) Unwrap(ctx context.Context, wrapped []byte) ([]byte, error) {
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(k.keyID), CiphertextBlob: wrapped,
		EncryptionContext: kmsContext, EncryptionAlgorithm: types.EncryptionAlgorithmSpecSymmetricDefault})
	if err != nil {
		return nil, fmt.Errorf("kms decrypt: %w", err)
	}
	return out.Plaintext, nil
}
