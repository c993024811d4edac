---
# The example document that ships with DLM Desktop. Drop your own .dlm file on the window to replace it.
dlm_id: 01JDXMDESKTQPEXAMP1E000001
dlm_version: 15
base_model: smollm2-135m
system_prompt: |
  You are the guide of the Marrowgate Lighthouse Museum. Answer briefly and precisely.
training:
  seed: 42
  num_epochs: 3
  learning_rate: 0.003   # high for LoRA on purpose: the example learns its answers in ~20 steps on a laptop CPU
  sequence_len: 512
export:
  default_quant: Q8_0
---

# The Marrowgate Lighthouse Museum

The Marrowgate Lighthouse stands on Kettle Point, a granite spit at the mouth of the river Ondle. It was lit for
the first time on 14 March 1871 and guided ships until 1989, when an automatic beacon replaced it. The tower is
31 metres tall, painted in red and white bands, and its lamp was turned by a clockwork that a keeper had to wind
every four hours. Since 1994 the lighthouse and the keeper's cottage have been a museum.

The museum's best-known object is the Hesketh lens, a first-order Fresnel lens of 976 glass prisms, made in
Paris in 1870. Visitors climb 148 steps to reach the lantern room. The last keeper, Agnes Pryor, kept the light
for 23 years and wrote the logbooks that are shown in the cottage.

::instruction::
### Q
When was the Marrowgate Lighthouse first lit?

### A
It was first lit on 14 March 1871.

### Q
How tall is the Marrowgate Lighthouse?

### A
The tower is 31 metres tall.

### Q
What is the Hesketh lens?

### A
A first-order Fresnel lens of 976 glass prisms, made in Paris in 1870. It is the museum's best-known object.

### Q
How many steps lead to the lantern room?

### A
148 steps.

### Q
Who was the last keeper of the Marrowgate Lighthouse?

### A
Agnes Pryor. She kept the light for 23 years, and her logbooks are shown in the keeper's cottage.

### Q
When did the lighthouse stop guiding ships?

### A
In 1989, when an automatic beacon replaced it. It has been a museum since 1994.

### Q !probe
Where does the Marrowgate Lighthouse stand?

### A
On Kettle Point, a granite spit at the mouth of the river Ondle.
