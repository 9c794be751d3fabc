"""The seed's PyTorch models, with exactly the module names springfield's checkpoints use.

    SimpleCnn   springfield --model simple
    Cnn         springfield --model best
    torchvision resnet18 / resnet50 (num_classes outputs) for --model resnet18 / resnet50

build_model(name, n_classes, input_size) returns any of them. Run with /usr/bin/python3 (torch 1.13).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def _simple_spatial(size):
    """Spatial side after SimpleCnn's five (conv3x3 no pad, maxpool 2) blocks."""
    for _ in range(5):
        size = (size - 2) // 2
    return size


class SimpleCnn(nn.Module):
    def __init__(self, n_classes=42, input_size=224):
        super().__init__()
        chans = [3, 8, 16, 32, 64, 96]
        for i in range(5):
            block = nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], kernel_size=3), nn.ReLU(), nn.MaxPool2d(2))
            setattr(self, "conv%d" % (i + 1), block)
        s = _simple_spatial(input_size)
        if s < 1:
            raise ValueError("SimpleCnn needs an input of at least 94 pixels, got %d" % input_size)
        self.fc1 = nn.Sequential(nn.Linear(96 * s * s, 512), nn.BatchNorm1d(512), nn.ReLU())
        self.out = nn.Linear(512, n_classes)

    def forward(self, x):
        for i in range(5):
            x = getattr(self, "conv%d" % (i + 1))(x)
        x = torch.flatten(x, 1)
        return self.out(self.fc1(x))


class Cnn(nn.Module):
    def __init__(self, n_classes=42):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 32, kernel_size=7, stride=2), nn.ReLU(), nn.AvgPool2d(3, 2))
        self.conv2 = nn.Sequential(nn.Conv2d(32, 64, kernel_size=5, stride=2), nn.BatchNorm2d(64), nn.ReLU(),
                                   nn.AvgPool2d(3, 2))
        self.conv3 = nn.Sequential(nn.Conv2d(64, 128, kernel_size=3, padding=1), nn.BatchNorm2d(128), nn.ReLU())
        self.conv4 = nn.Sequential(nn.Conv2d(128, 256, kernel_size=3, padding=1), nn.BatchNorm2d(256), nn.ReLU())
        self.conv5 = nn.Sequential(nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.BatchNorm2d(256), nn.ReLU())
        self.conv6 = nn.Sequential(nn.Conv2d(256, 256, kernel_size=2), nn.BatchNorm2d(256), nn.ReLU(),
                                   nn.MaxPool2d(3, 2))
        self.fc1 = nn.Sequential(nn.Linear(256 * 4 * 4, 2048), nn.BatchNorm1d(2048), nn.ReLU())
        self.fc2 = nn.Sequential(nn.Linear(2048, 2048), nn.BatchNorm1d(2048), nn.ReLU())
        self.fc3 = nn.Sequential(nn.Linear(2048, 2048), nn.BatchNorm1d(2048), nn.ReLU())
        self.fc4 = nn.Sequential(nn.Linear(2048, n_classes))

    def forward(self, x):
        x = self.conv6(self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x))))))
        # A fixed 4x4 grid whatever the input size: upsamples at 96 px (1x1), downsamples at 224 (5x5).
        x = F.interpolate(x, size=(4, 4), mode="bilinear", align_corners=False)
        x = torch.flatten(x, 1)
        return self.fc4(self.fc3(self.fc2(self.fc1(x))))


def build_model(name, n_classes=42, input_size=224):
    if name == "simple":
        return SimpleCnn(n_classes, input_size)
    if name == "best":
        return Cnn(n_classes)
    if name in ("resnet18", "resnet50"):
        import torchvision
        return getattr(torchvision.models, name)(num_classes=n_classes)
    raise ValueError("unknown model %r (simple|best|resnet18|resnet50)" % name)
